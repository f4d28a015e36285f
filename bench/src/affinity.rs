//! CPU pinning, so the generator and the service never share a core.

// The pinning and CPU counting are libc calls.
#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        set
    }
}

/// Pins the calling process (every thread it starts later inherits it).
pub fn pin_self(cpu: usize) -> std::io::Result<()> {
    let set = cpu_set(cpu);
    // SAFETY: a valid set of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Pins a child process to `cpu` between fork and exec.
pub fn pin_child(command: &mut Command, cpu: usize) {
    let set = cpu_set(cpu);
    // SAFETY: sched_setaffinity is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            if libc::sched_setaffinity(0, size_of_val(&set), &set) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// How many CPUs this process may run on.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many CPUs the machine has, whatever this process is pinned to.
pub fn available_cpus_total() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as usize } else { 1 }
}
