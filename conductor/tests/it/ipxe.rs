//! The boot-from-volume iPXE script, compared whole for each variant (spec:
//! boot-from-volume.md §6).

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use common::model::JsonObject;
use common::model::volume::{VolumeConnector, VolumeTarget};
use conductor::boot::ipxe::{BfvOptions, Templates, bfv_options, set_command};

const NODE: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";
const BOOT_URL: &str = "http://192.0.2.1:8088";

fn connector(id: i64, kind: &str, connector_id: &str) -> VolumeConnector {
    VolumeConnector {
        id,
        uuid: format!("c-{id}"),
        node_id: 1,
        node_uuid: NODE.into(),
        connector_type: kind.into(),
        connector_id: connector_id.into(),
        extra: JsonObject::new(),
        created_at: NaiveDateTime::default(),
        updated_at: None,
    }
}

fn target(id: i64, boot_index: i32, properties: Value) -> VolumeTarget {
    VolumeTarget {
        id,
        uuid: format!("t-{id}"),
        node_id: 1,
        node_uuid: NODE.into(),
        volume_type: "iscsi".into(),
        properties: properties.as_object().expect("an object").clone(),
        boot_index,
        volume_id: format!("vol-{id}"),
        extra: JsonObject::new(),
        created_at: NaiveDateTime::default(),
        updated_at: None,
    }
}

fn node_iqn() -> Vec<VolumeConnector> {
    vec![connector(1, "iqn", "iqn.2024-01.org.example:node-01")]
}

fn boot_target(chap: bool) -> VolumeTarget {
    let mut props = json!({
        "target_portal": "192.0.2.10:3260",
        "target_iqn": "iqn.2004-04.com.example:vol-boot",
        "target_lun": 0,
    });
    if chap {
        props["auth_username"] = json!("bootuser");
        props["auth_password"] = json!("bootpass");
    }
    target(1, 0, props)
}

fn data_target() -> VolumeTarget {
    target(
        2,
        1,
        json!({
            "target_portal": "192.0.2.11:3260",
            "target_iqn": "iqn.2004-04.com.example:vol-data",
            "target_lun": 12,
            "auth_username": "datauser",
            "auth_password": "datapass",
        }),
    )
}

fn options(connectors: &[VolumeConnector], targets: &[VolumeTarget]) -> BfvOptions {
    bfv_options(connectors, targets)
        .expect("usable targets")
        .expect("an iSCSI boot volume")
}

fn render(connectors: &[VolumeConnector], targets: &[VolumeTarget]) -> String {
    Templates::default()
        .render_bfv(NODE, BOOT_URL, &options(connectors, targets))
        .expect("renders")
}

/// The whole script around a `:boot_iscsi` section's commands.
fn script(boot_commands: &str) -> String {
    format!(
        "#!ipxe
# Boot-from-volume script of node {NODE}, served from {BOOT_URL}.
# Rendered on each request from the node's volume targets and connectors.

goto boot_iscsi

:boot_iscsi
imgfree
{boot_commands}

:fail_iscsi_retry
echo Could not attach the SAN volumes of node {NODE}, trying again in 10 seconds.
sleep 10
goto boot_iscsi"
    )
}

const BOOT_URL_0: &str = "iscsi:192.0.2.10::3260:0:iqn.2004-04.com.example:vol-boot";

#[test]
fn a_single_volume_without_chap_sets_only_the_initiator() {
    let rendered = render(&node_iqn(), &[boot_target(false)]);
    let expected = script(&format!(
        "

set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 {BOOT_URL_0} || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry"
    ));
    assert_eq!(rendered, expected);
}

#[test]
fn chap_credentials_are_set_before_the_boot_volume_is_hooked() {
    let rendered = render(&node_iqn(), &[boot_target(true)]);
    let expected = script(&format!(
        "set username bootuser
set password bootpass
set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 {BOOT_URL_0} || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry"
    ));
    assert_eq!(rendered, expected);
}

#[test]
fn multipath_hooks_every_portal_on_one_line() {
    let mut boot = boot_target(false);
    boot.properties.insert(
        "target_portals".into(),
        json!(["192.0.2.10:3260", "198.51.100.10:3260"]),
    );
    let rendered = render(&node_iqn(), &[boot]);
    let expected = script(
        "

set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 iscsi:192.0.2.10::3260:0:iqn.2004-04.com.example:vol-boot iscsi:198.51.100.10::3260:0:iqn.2004-04.com.example:vol-boot || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry",
    );
    assert_eq!(rendered, expected);
}

/// The worked example of boot-from-volume.md §6.
const WORKED_EXAMPLE: &str = "set username bootuser
set password bootpass
set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 iscsi:192.0.2.10::3260:0:iqn.2004-04.com.example:vol-boot || goto fail_iscsi_retry
set username datauser
set password datapass
sanhook --drive 0x81 iscsi:192.0.2.11::3260:c:iqn.2004-04.com.example:vol-data || goto fail_iscsi_retry
set username bootuser
set password bootpass
sanboot --no-describe || goto fail_iscsi_retry";

#[test]
fn extra_volumes_are_hooked_with_their_own_credentials_then_the_boot_ones_return() {
    let rendered = render(&node_iqn(), &[boot_target(true), data_target()]);
    assert_eq!(rendered, script(WORKED_EXAMPLE));
}

#[test]
fn the_boot_path_runs_the_worked_examples_commands_exactly() {
    let rendered = render(&node_iqn(), &[boot_target(true), data_target()]);
    let section = rendered
        .split(":boot_iscsi\n")
        .nth(1)
        .and_then(|rest| rest.split(":fail_iscsi_retry").next())
        .expect("a boot_iscsi section");
    let commands: Vec<&str> = section
        .lines()
        .filter(|l| {
            ["set ", "sanhook ", "sanboot "]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect();
    assert_eq!(commands, WORKED_EXAMPLE.lines().collect::<Vec<_>>());
    let entry: Vec<&str> = rendered
        .lines()
        .filter(|l| l.starts_with("goto "))
        .collect();
    assert_eq!(entry, ["goto boot_iscsi", "goto boot_iscsi"]);
}

#[test]
fn extra_volumes_without_boot_chap_clear_the_credentials_afterwards() {
    let rendered = render(&node_iqn(), &[boot_target(false), data_target()]);
    let expected = script(
        "

set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 iscsi:192.0.2.10::3260:0:iqn.2004-04.com.example:vol-boot || goto fail_iscsi_retry
set username datauser
set password datapass
sanhook --drive 0x81 iscsi:192.0.2.11::3260:c:iqn.2004-04.com.example:vol-data || goto fail_iscsi_retry
set username 
set password 
sanboot --no-describe || goto fail_iscsi_retry",
    );
    assert_eq!(rendered, expected);
}

#[test]
fn extra_volumes_are_numbered_in_creation_order_not_boot_index_order() {
    let mut third = data_target();
    third.id = 3;
    third.boot_index = 1;
    third.properties.insert("target_lun".into(), json!(16));
    let mut second = data_target();
    second.boot_index = 2;
    let rendered = render(&node_iqn(), &[boot_target(true), second, third]);
    let hooks: Vec<&str> = rendered
        .lines()
        .filter(|l| l.starts_with("sanhook"))
        .collect();
    assert_eq!(
        hooks,
        [
            format!("sanhook --drive 0x80 {BOOT_URL_0} || goto fail_iscsi_retry"),
            "sanhook --drive 0x81 iscsi:192.0.2.11::3260:c:iqn.2004-04.com.example:vol-data || goto fail_iscsi_retry".into(),
            "sanhook --drive 0x82 iscsi:192.0.2.11::3260:10:iqn.2004-04.com.example:vol-data || goto fail_iscsi_retry".into(),
        ]
    );
}

#[test]
fn without_an_iqn_connector_the_initiator_line_is_empty() {
    let connectors = [connector(1, "ip", "192.0.2.50")];
    let rendered = render(&connectors, &[boot_target(true)]);
    let expected = script(&format!(
        "set username bootuser
set password bootpass

sanhook --drive 0x80 {BOOT_URL_0} || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry"
    ));
    assert_eq!(rendered, expected);
}

#[test]
fn secrets_with_dollar_brace_and_space_are_written_percent_encoded() {
    let mut boot = boot_target(true);
    boot.properties
        .insert("auth_password".into(), json!("p${a}ss {x} y"));
    boot.properties
        .insert("auth_username".into(), json!("#admin"));
    let rendered = render(&node_iqn(), &[boot]);
    let expected = script(&format!(
        "set username:uristring %23admin
set password:uristring p%24%7Ba%7Dss%20%7Bx%7D%20y
set initiator-iqn iqn.2024-01.org.example:node-01
sanhook --drive 0x80 {BOOT_URL_0} || goto fail_iscsi_retry


sanboot --no-describe || goto fail_iscsi_retry"
    ));
    assert_eq!(rendered, expected);
}

#[test]
fn values_ipxe_leaves_alone_are_written_as_they_are() {
    assert_eq!(
        set_command("password", "s3cr3t:%!"),
        "set password s3cr3t:%!"
    );
    assert_eq!(set_command("username", ""), "set username ");
    assert_eq!(
        set_command("username", "||"),
        "set username:uristring %7C%7C"
    );
    assert_eq!(
        set_command("password", "tab\there"),
        "set password:uristring tab%09here"
    );
    assert_eq!(
        set_command("password", "ünï"),
        "set password:uristring %C3%BCn%C3%AF"
    );
}

#[test]
fn an_extra_volume_without_credentials_is_refused() {
    let mut data = data_target();
    data.properties.remove("auth_password");
    let error = bfv_options(&node_iqn(), &[boot_target(true), data]).unwrap_err();
    assert_eq!(
        error,
        "Volume target t-2 has no auth_password in its properties; extra iSCSI volumes need CHAP credentials."
    );
}

#[test]
fn a_lun_given_as_a_string_is_refused() {
    let mut boot = boot_target(false);
    boot.properties.insert("target_lun".into(), json!("0"));
    let error = bfv_options(&node_iqn(), &[boot]).unwrap_err();
    assert!(error.contains("target_lun \"0\""), "{error}");
}

#[test]
fn plural_keys_lists_ipv6_portals_and_the_last_iqn_connector_are_read_as_ironic_does() {
    let boot = target(
        1,
        0,
        json!({
            "target_portal": "",
            "target_portals": ["[2001:db8::10]:3260"],
            "target_iqns": ["iqn.a", "iqn.b"],
            "target_luns": [31, 2],
        }),
    );
    let connectors = [
        connector(1, "iqn", "iqn.first"),
        connector(2, "iqn", "iqn.last"),
    ];
    let got = options(&connectors, &[boot]);
    assert_eq!(got.boot_urls, ["iscsi:2001:db8::10::3260:1f:iqn.a"]);
    assert_eq!(got.initiator_iqn.as_deref(), Some("iqn.last"));
}

#[test]
fn a_portal_without_a_port_leaves_the_port_empty() {
    let boot = target(
        1,
        0,
        json!({"target_portal": "san.example", "target_iqn": "iqn.x", "target_lun": 1}),
    );
    assert_eq!(
        options(&[], &[boot]).boot_urls,
        ["iscsi:san.example:::1:iqn.x"]
    );
}

#[test]
fn a_fibre_channel_boot_volume_has_no_script() {
    let mut boot = boot_target(false);
    boot.volume_type = "fibre_channel".into();
    assert_eq!(bfv_options(&node_iqn(), &[boot]), Ok(None));
    assert_eq!(bfv_options(&node_iqn(), &[data_target()]), Ok(None));
}

#[test]
fn the_generic_script_chains_each_nics_file_relative_to_itself() {
    let rendered = Templates::default().render_boot(BOOT_URL).expect("renders");
    let expected = format!(
        "#!ipxe
# sanlink entry script, the same for every machine. It walks the network
# interfaces in order and chains the script kept for the first MAC address
# that has one. The path is relative, so it resolves against wherever this
# file was fetched from ({BOOT_URL} unless a proxy says otherwise).

set nic:int32 -1

:next_nic
inc nic
isset ${{net${{nic}}/mac}} || goto no_script
chain --autofree pxelinux.cfg/${{net${{nic}}/mac:hexhyp}} || goto next_nic

:no_script
echo No sanlink boot script for any network interface of this machine.
echo Leaving iPXE so the firmware can try its next boot device.
exit 1"
    );
    assert_eq!(rendered, expected);
}

#[test]
fn an_operator_template_replaces_the_built_in_one() {
    let dir = std::env::temp_dir().join(format!("sanlink-ipxe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bfv.ipxe");
    std::fs::write(
        &path,
        "#!ipxe\n{{ set(\"password\", password) }}\nsanboot {{ boot_urls | join(\" \") }}\n",
    )
    .unwrap();
    let settings = common::config::Settings::from_lookup(|name| match name {
        "SANLINK_IPXE_TEMPLATE" => Some(path.display().to_string()),
        _ => None,
    })
    .unwrap();
    let templates = Templates::load(&settings).expect("loads");
    let rendered = templates
        .render_bfv(NODE, BOOT_URL, &options(&node_iqn(), &[boot_target(true)]))
        .unwrap();
    assert_eq!(
        rendered,
        format!("#!ipxe\nset password bootpass\nsanboot {BOOT_URL_0}")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_operator_template_that_does_not_parse_is_reported_at_start() {
    let dir = std::env::temp_dir().join(format!("sanlink-ipxe-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("boot.ipxe");
    std::fs::write(&path, "#!ipxe\n{% if %}\n").unwrap();
    let settings = common::config::Settings::from_lookup(|name| match name {
        "SANLINK_IPXE_BOOT_TEMPLATE" => Some(path.display().to_string()),
        _ => None,
    })
    .unwrap();
    let error = Templates::load(&settings).unwrap_err();
    assert!(error.starts_with("SANLINK_IPXE_BOOT_TEMPLATE"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
