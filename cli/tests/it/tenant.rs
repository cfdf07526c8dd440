//! `alq tenant create|list`.

use crate::common::control_plane::{Server, User};

#[test]
fn tenants_are_created_and_listed_as_a_table_and_as_json() {
    let server = Server::start();
    let user = User::logged_in(&server);
    user.alq(&["tenant", "create", "acme"])
        .expect_code(0)
        .stdout_has(&["Created tenant acme"]);
    user.alq(&["tenant", "list"])
        .expect_code(0)
        .stdout_has(&["ID", "NAME", "CREATED", "default", "acme"]);
    let tenants = user.json(&["tenant", "list"]);
    let names: Vec<&str> = tenants
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["default", "acme"]);

    // A duplicate is refused by the server: exit 1 with its message.
    user.alq(&["tenant", "create", "acme"])
        .expect_code(1)
        .stderr_has(&["the server refused the request (409)"]);
}
