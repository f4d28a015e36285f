; boot.asm - 512-byte MBR that proves which disk the machine booted from.
;
; iPXE `sanboot` reads this sector from the SAN volume (iSCSI or HTTP), hooks
; INT 13h and jumps here with DL = SAN drive number (0x80).  We then:
;   1. print "MBR drive=0x80: " on COM1 (0x3f8),
;   2. read LBA 1 through INT 13h AH=42h - served by iPXE's SAN hook, i.e. a
;      second read over the network - and print the NUL-terminated text there.
;      disk.py puts "BOOTED-FROM-SAN nonce=<random>" in it, so the test
;      knows the bytes came from *this* volume,
;   3. write to port 0xf4 so QEMU's isa-debug-exit device (if present) ends
;      QEMU with status 33 (0x10<<1|1), or 35 on a read failure; then halt.
;      Without that device the OUT is ignored and the CPU just halts.
;
; Build: nasm -f bin -o boot.bin boot.asm   (disk.py embeds the result)
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl
    mov si, banner
    call puts
    mov al, [drive]
    call puthex8
    mov si, colon
    call puts
    mov si, dap                 ; INT 13h extended read: LBA 1 -> 0000:7E00
    mov ah, 0x42
    mov dl, [drive]
    int 0x13
    jc .fail
    mov si, 0x7e00
    call puts
    mov al, 0x10                ; QEMU exit status 33
    jmp .exit
.fail:
    mov si, failmsg
    call puts
    mov al, 0x11                ; QEMU exit status 35
.exit:
    out 0xf4, al
.halt:
    cli
    hlt
    jmp .halt

puthex8:                        ; print AL as two hex digits
    push ax
    shr al, 4
    call .nibble
    pop ax
    and al, 0x0f
.nibble:
    add al, '0'
    cmp al, '9'
    jbe putc
    add al, 7
putc:                           ; AL -> COM1, waiting for THR empty
    push dx
    push ax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, 0x3f8
    out dx, al
    pop dx
    ret

puts:                           ; DS:SI -> NUL-terminated string
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

drive:   db 0
dap:     db 0x10, 0             ; disk address packet
         dw 1                   ; sector count
         dw 0x7e00, 0           ; buffer offset, segment
         dq 1                   ; LBA
banner:  db 13, 10, 'MBR drive=0x', 0
colon:   db ': ', 0
failmsg: db 'LBA1-READ-FAILED', 13, 10, 0

    times 510-($-$$) db 0
    dw 0xaa55
