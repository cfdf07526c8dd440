//! Actionability against real Chromium (pages in `actionable_site.rs`): elements in small
//! and nested scroll boxes, a field whose centre is covered until its box is scrolled,
//! elements no scrolling can show, and elements moved by CSS animations, transitions and
//! scripts. Each test asserts on what the page saw.

use std::time::Duration;

use serde_json::json;

use crate::browser::session;

#[tokio::test]
async fn acts_on_controls_past_both_edges_of_a_box_with_both_scrollbars() {
    let Some(mut s) = session().await else { return };
    s.open("/scroll-box").await;
    s.ok(json!({"action": "browser.click", "selector": "#far"}))
        .await;
    s.ok(json!({"action": "browser.hover", "selector": "#hover-me"}))
        .await;
    s.ok(json!({"action": "browser.type", "selector": "#field", "text": "hello"}))
        .await;
    s.ok(json!({"action": "browser.check", "selector": "#tick"}))
        .await;
    s.ok(json!({"action": "browser.select", "selector": "#pick", "value": "b"}))
        .await;
    let value = s
        .ok(json!({"action": "browser.extract", "selector": "#field", "property": "value"}))
        .await;
    assert_eq!(value, json!("hello"));
    assert_eq!(s.text("#hovered").await, json!("hovered"));
    // Nothing reached the sibling under the box.
    assert_eq!(s.text("#log").await, json!("far;tick=true;pick=b;"));
    s.close().await;
}

#[tokio::test]
async fn clicks_a_button_inside_nested_scroll_boxes() {
    let Some(mut s) = session().await else { return };
    s.open("/nested-boxes").await;
    s.ok(json!({"action": "browser.click", "selector": "#deep"}))
        .await;
    assert_eq!(s.text("#log").await, json!("deep;"));
    s.close().await;
}

/// WebDriver's Send Keys scrolls the field to the box's centre, under the block, and the
/// page wipes the text; alq scrolls it where its centre can be hit first.
#[tokio::test]
async fn types_into_a_field_only_once_its_centre_is_uncovered() {
    let Some(mut s) = session().await else { return };
    s.open("/half-covered-field").await;
    s.ok(json!({"action": "browser.type", "selector": "#field", "text": "hello"}))
        .await;
    let value = s
        .ok(json!({"action": "browser.extract", "selector": "#field", "property": "value"}))
        .await;
    assert_eq!(value, json!("hello"));
    s.ok(json!({"action": "browser.type", "selector": "#field", "text": "world", "clear": true}))
        .await;
    let value = s
        .ok(json!({"action": "browser.extract", "selector": "#field", "property": "value"}))
        .await;
    assert_eq!(value, json!("world"));
    let log = s
        .ok(json!({"action": "browser.extract", "selector": "#log", "property": "textContent"}))
        .await;
    assert_eq!(
        log,
        json!(""),
        "the page saw keys typed where it was covered"
    );
    s.close().await;
}

/// Each timeout names the phase, the selector, what was not met and the page; an element
/// no scrolling can show is outside its box, not "covered by <body>".
#[tokio::test]
async fn timeouts_say_what_was_not_met() {
    let Some(mut s) = session().await else { return };
    s.open("/clipped").await;
    let url = s.site.url("/clipped");
    let one = Duration::from_secs(1);
    let message = s
        .fails(
            json!({"action": "browser.click", "selector": "#past-clip"}),
            one,
        )
        .await;
    assert_eq!(
        message,
        format!(
            "timed out after 1s waiting for the element \"#past-clip\": it is outside the \
             visible part of its scroll container <div id=\"clip\"> on {url}"
        )
    );
    let message = s
        .fails(
            json!({"action": "browser.type", "selector": "#before-start", "text": "x"}),
            one,
        )
        .await;
    assert_eq!(
        message,
        format!(
            "timed out after 1s waiting for the element \"#before-start\": it is outside the \
             visible part of its scroll container <div id=\"hidden\"> on {url}"
        )
    );
    let cases = [
        (
            json!({"action": "browser.click", "selector": "#off"}),
            "\"#off\": it is disabled",
        ),
        (
            json!({"action": "browser.type", "selector": "#locked", "text": "x"}),
            "\"#locked\": it is read-only",
        ),
        (
            json!({"action": "browser.hover", "selector": "#restless"}),
            "\"#restless\": it kept moving (its box changed between two animation frames)",
        ),
        (
            json!({"action": "browser.wait_for", "selector": "#off", "state": "hidden"}),
            "\"#off\" to be hidden: it is still visible",
        ),
        (
            json!({"action": "browser.wait_for", "selector": "#off", "state": "detached"}),
            "\"#off\" to be detached: it is still in the page",
        ),
    ];
    for (step, what) in cases {
        let message = s.fails(step, one).await;
        assert_eq!(
            message,
            format!("timed out after 1s waiting for the element {what} on {url}")
        );
    }
    s.close().await;
}

/// The orbit lasts 5 s: the click waits for it to stop, however the button passes under
/// the pointer meanwhile.
#[tokio::test]
async fn clicks_an_orbiting_button_after_its_animation_stops() {
    let Some(mut s) = session().await else { return };
    s.open("/orbit").await;
    s.ok(json!({"action": "browser.click", "selector": "#start"}))
        .await;
    let step = json!({"action": "browser.click", "selector": "#orbiter"});
    if let Err(error) = s.run_for(step, Duration::from_secs(20)).await {
        panic!("the click failed: {error}");
    }
    assert_eq!(s.text("#log").await, json!("clicked while stopped;"));
    s.close().await;
}

/// Moved by a CSS transition of left/top, of transform, and by a script on every frame
/// (no CSS animation runs then): each click lands once the button is at rest.
#[tokio::test]
async fn clicks_buttons_moved_by_transitions_and_scripts_once_they_rest() {
    let Some(mut s) = session().await else { return };
    s.open("/movers").await;
    for id in ["left", "transform", "script"] {
        s.ok(json!({"action": "browser.click", "selector": format!("#start-{id}")}))
            .await;
        s.ok(json!({"action": "browser.click", "selector": format!("#by-{id}")}))
            .await;
    }
    assert_eq!(
        s.text("#log").await,
        json!("by-left at rest;by-transform at rest;by-script at rest;")
    );
    s.close().await;
}
