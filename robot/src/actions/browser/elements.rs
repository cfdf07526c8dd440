//! Actions on one element: click, type, press, select, check, hover, upload, extract.
//! Each waits until its element is ready, then uses real input events through WebDriver.

use alq_shared::workflow::{
    CheckArgs, ClickArgs, ExtractArgs, PressArgs, SelectArgs, TypeArgs, UploadArgs,
};
use std::time::Duration;

use serde_json::{Value, json};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use super::Browser;
use super::keys;
use super::locate::{Need, Selector, Target, Unmet, Waiter, transient};
use crate::actions::{ActionCtx, ActionError, ActionResult};

impl Browser {
    /// Waits until the element meets `need`, then runs `op` on it; when `op` fails in a
    /// way that waiting can fix (stale element, covered, navigation), finds it again.
    pub(super) async fn act<T>(
        &self,
        selector: &Selector,
        need: Need,
        wait: &mut Waiter<'_>,
        op: impl AsyncFn(&Target) -> WebDriverResult<T>,
    ) -> Result<T, ActionError> {
        loop {
            let target = self.wait_element(selector, need, wait).await?;
            let result = op(&target).await;
            // The probe set a guard on where the press lands (page.js `guard`).
            if matches!(need, Need::Click | Need::Pointer)
                && let Some(cover) = self.guard_result().await
            {
                wait.unmet = Unmet::Covered(cover);
                if !wait.pause().await? {
                    return Err(self.timed_out(selector, wait).await);
                }
                continue;
            }
            match result {
                Ok(value) => return Ok(value),
                Err(error) => match transient(&error) {
                    Some(unmet) => wait.unmet = unmet,
                    None => return Err(self.fail_with(selector, &error).await),
                },
            }
            if !wait.pause().await? {
                return Err(self.timed_out(selector, wait).await);
            }
        }
    }

    /// Presses the left button once (twice with `double`) at the target's action point,
    /// where the probe checked it reaches the element; inside a cross-origin frame, where
    /// no point is known, WebDriver's element click.
    pub(super) async fn press_at(&self, target: &Target, double: bool) -> WebDriverResult<()> {
        let driver = self.driver()?;
        match (target.point, double) {
            (Some((x, y)), false) => instant(driver).move_to(x, y).click().perform().await,
            (Some((x, y)), true) => instant(driver).move_to(x, y).double_click().perform().await,
            (None, false) => target.el.click().await,
            (None, true) => {
                instant(driver)
                    .double_click_element(&target.el)
                    .perform()
                    .await
            }
        }
    }

    /// `browser.click`: a real (double) click at the element's action point.
    pub(super) async fn click(&self, a: &ClickArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        let mut wait = Waiter::new(ctx);
        self.act(&selector, Need::Click, &mut wait, async |target| {
            self.press_at(target, a.double).await
        })
        .await?;
        Ok(Value::Null)
    }

    /// `browser.type`: keystrokes into the field once it is where a person could type into
    /// it (scrolled so its action point is visible and not covered) and has the focus;
    /// `clear` selects all and deletes first, so the page sees the same input events as
    /// from a person. The keys go to the focused field as WebDriver key actions, which
    /// never scroll (WebDriver's Send Keys scrolls the field again, maybe under a cover).
    /// The text never appears in an error.
    pub(super) async fn type_text(&self, a: &TypeArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        let driver = self.driver().map_err(|e| ActionError::app(e.to_string()))?;
        let mut wait = Waiter::new(ctx);
        self.act(&selector, Need::Type, &mut wait, async |_| {
            let mut chain = instant(driver);
            if a.clear {
                chain = chain
                    .key_down(Key::Control)
                    .key_down('a')
                    .key_up('a')
                    .key_up(Key::Control)
                    .key_down(Key::Backspace)
                    .key_up(Key::Backspace);
            }
            chain.send_keys(a.text.as_str()).perform().await
        })
        .await?;
        Ok(Value::Null)
    }

    /// `browser.press`: key chords to the focused element, or to `selector` after
    /// focusing it.
    pub(super) async fn press(&self, a: &PressArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let chords = keys::parse(a.keys.as_str()).map_err(ActionError::app)?;
        let driver = self.driver().map_err(|e| ActionError::app(e.to_string()))?;
        if let Some(selector) = &a.selector {
            let selector = Selector::parse(selector.as_str());
            let mut wait = Waiter::new(ctx);
            // The probe leaves the element focused.
            self.act(&selector, Need::Focus, &mut wait, async |_| Ok(()))
                .await?;
        }
        let mut chain = instant(driver);
        for chord in &chords {
            for m in &chord.modifiers {
                chain = chain.key_down(*m);
            }
            chain = chain.key_down(chord.key).key_up(chord.key);
            for m in chord.modifiers.iter().rev() {
                chain = chain.key_up(*m);
            }
        }
        chain.perform().await.map_err(|e| {
            ActionError::app(format!(
                "pressing {:?} failed: {}",
                a.keys.as_str(),
                super::locate::short(&e)
            ))
        })?;
        Ok(Value::Null)
    }

    /// `browser.select`: picks an option by value, label or index with a real click on
    /// the option; the error lists the options there are. Output: `{value, label, index}`.
    pub(super) async fn select(&self, a: &SelectArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        let wanted = match (&a.value, &a.label, a.index) {
            (Some(v), None, None) => format!("value {:?}", v.as_str()),
            (None, Some(l), None) => format!("label {:?}", l.as_str()),
            (None, None, Some(i)) => format!("index {i}"),
            _ => {
                return Err(ActionError::app(
                    "give exactly one of `value`, `label`, `index`",
                ));
            }
        };
        let mut wait = Waiter::new(ctx);
        let outcome = self
            .act(&selector, Need::Pick, &mut wait, async |target| {
                let info = self
                    .helper("options", json!({ "selector": selector.json() }))
                    .await?;
                if let Some(what) = info["notSelect"].as_str() {
                    return Ok(Err(format!("{what} is not a <select>")));
                }
                let options = info["options"].as_array().cloned().unwrap_or_default();
                let index = match (&a.value, &a.label, a.index) {
                    (Some(v), _, _) => options
                        .iter()
                        .position(|o| o["value"].as_str() == Some(v.as_str())),
                    (_, Some(l), _) => {
                        let l = normalise(l.as_str());
                        options
                            .iter()
                            .position(|o| o["label"].as_str() == Some(l.as_str()))
                    }
                    (_, _, Some(i)) => Some(i as usize).filter(|&i| i < options.len()),
                    _ => None,
                };
                let Some(index) = index else {
                    return Ok(Err(format!(
                        "it has no option with {wanted}; options: {}",
                        list(&options)
                    )));
                };
                SelectElement::new(&target.el)
                    .await?
                    .select_by_index(index as u32)
                    .await?;
                let after = self
                    .helper("options", json!({ "selector": selector.json() }))
                    .await?;
                if after["selected"].as_u64() != Some(index as u64) {
                    return Ok(Err(format!(
                        "the page did not keep the option with {wanted} selected"
                    )));
                }
                Ok(Ok(json!({
                    "value": options[index]["value"],
                    "label": options[index]["label"],
                    "index": index,
                })))
            })
            .await?;
        let page = self.page_name().await;
        outcome
            .map_err(|why| ActionError::app(format!("select {:?}: {why} on {page}", selector.raw)))
    }

    /// `browser.check`: clicks a checkbox or radio button only when its state differs,
    /// then checks the page agreed. Output: the final state.
    pub(super) async fn check(&self, a: &CheckArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        let mut wait = Waiter::new(ctx);
        let outcome = self
            .act(&selector, Need::Click, &mut wait, async |target| {
                let el = &target.el;
                if el.is_selected().await? == a.checked {
                    return Ok(Ok(()));
                }
                if !a.checked
                    && el
                        .attr("type")
                        .await?
                        .is_some_and(|t| t.eq_ignore_ascii_case("radio"))
                {
                    return Ok(Err(
                        "a radio button cannot be unchecked by clicking it; check another one"
                            .to_owned(),
                    ));
                }
                self.press_at(target, false).await?;
                if el.is_selected().await? != a.checked {
                    return Ok(Err("clicking it did not change its state".to_owned()));
                }
                Ok(Ok(()))
            })
            .await?;
        let page = self.page_name().await;
        outcome
            .map(|()| json!(a.checked))
            .map_err(|why| ActionError::app(format!("check {:?}: {why} on {page}", selector.raw)))
    }

    /// `browser.hover`: moves the mouse to the element's action point.
    pub(super) async fn hover(&self, selector: &str, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(selector);
        let driver = self.driver().map_err(|e| ActionError::app(e.to_string()))?;
        let mut wait = Waiter::new(ctx);
        self.act(&selector, Need::Pointer, &mut wait, async |target| {
            let chain = instant(driver);
            match target.point {
                Some((x, y)) => chain.move_to(x, y),
                None => chain.move_to_element_center(&target.el),
            }
            .perform()
            .await
        })
        .await?;
        Ok(Value::Null)
    }

    /// `browser.upload`: gives a file to an `<input type=file>`, which may be hidden.
    /// Output: the file's absolute path.
    pub(super) async fn upload(&self, a: &UploadArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        let path = ctx.path(
            "browser.upload",
            a.path.as_str(),
            crate::actions::Access::Read,
        )?;
        if !path.is_file() {
            return Err(ActionError::app(format!(
                "the file to upload, {}, does not exist",
                path.display()
            )));
        }
        let text = path.display().to_string();
        let mut wait = Waiter::new(ctx);
        self.act(&selector, Need::Attached, &mut wait, async |target| {
            target.el.send_keys(text.as_str()).await
        })
        .await?;
        Ok(json!(text))
    }

    /// `browser.extract`: the trimmed visible text, an attribute or a property of the first
    /// match; with `all` one per match; with `table` the rows keyed by the header cells.
    pub(super) async fn extract(&self, a: &ExtractArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        // Attributes and properties are readable on hidden elements (e.g. hidden inputs).
        let need = if a.attribute.is_some() || a.property.is_some() {
            Need::Attached
        } else {
            Need::Visible
        };
        let input = json!({
            "selector": selector.json(),
            "attribute": a.attribute.as_ref().map(|t| t.as_str()),
            "property": a.property.as_ref().map(|t| t.as_str()),
            "all": a.all,
            "table": a.table,
        });
        let mut wait = Waiter::new(ctx);
        loop {
            self.wait_element(&selector, need, &mut wait).await?;
            match self.helper("extract", input.clone()).await {
                Ok(out) if out["found"] == json!(true) => return Ok(out["value"].clone()),
                Ok(_) => {}
                Err(error) => match transient(&error) {
                    Some(unmet) => wait.unmet = unmet,
                    None => return Err(self.fail_with(&selector, &error).await),
                },
            }
            if !wait.pause().await? {
                return Err(self.timed_out(&selector, &wait).await);
            }
        }
    }
}

/// An action chain whose pointer moves jump (thirtyfour's default glides for 250 ms, a
/// quarter of a second added to every click).
fn instant(driver: &WebDriver) -> thirtyfour::action_chain::ActionChain {
    driver.action_chain_with_delay(Some(Duration::ZERO), Some(Duration::ZERO))
}

/// Whitespace collapsed and trimmed, as page.js compares labels.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The options of a select for an error message.
fn list(options: &[Value]) -> String {
    if options.is_empty() {
        return "none".to_owned();
    }
    options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{i}: {} (value {})", o["label"], o["value"]))
        .collect::<Vec<_>>()
        .join(", ")
}
