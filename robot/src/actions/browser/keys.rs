//! Key names of `browser.press`: `Enter`, `Tab`, `Control+a`, several separated by spaces.

use thirtyfour::Key;

/// One key press, with the modifiers held while it is pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chord {
    /// Modifier keys, pressed in order and released in reverse.
    pub(super) modifiers: Vec<char>,
    /// The key itself (a WebDriver key code or a character).
    pub(super) key: char,
}

/// Parses `keys` such as `Control+a Enter`; the error names the key that is unknown.
pub(super) fn parse(keys: &str) -> Result<Vec<Chord>, String> {
    let mut chords = Vec::new();
    for chord in keys.split_whitespace() {
        // `+` alone, or a trailing `+` as in `Shift++`, is the plus key itself.
        let (head, last) = match chord.strip_suffix("++") {
            Some(head) => (head, "+"),
            None if chord == "+" => ("", "+"),
            None => chord.rsplit_once('+').unwrap_or(("", chord)),
        };
        let modifiers = head
            .split('+')
            .filter(|m| !m.is_empty())
            .map(|m| modifier(m).ok_or_else(|| unknown(m)))
            .collect::<Result<Vec<_>, _>>()?;
        let key = named(last).ok_or_else(|| unknown(last))?;
        chords.push(Chord { modifiers, key });
    }
    if chords.is_empty() {
        return Err("no keys given; write e.g. `Enter`, `Tab` or `Control+a`".into());
    }
    Ok(chords)
}

fn unknown(name: &str) -> String {
    format!(
        "unknown key {name:?}; use a character or one of Enter, Tab, Escape, Backspace, Delete, \
         Space, ArrowUp, ArrowDown, ArrowLeft, ArrowRight, Home, End, PageUp, PageDown, Insert, \
         F1-F12, with modifiers Control, Shift, Alt, Meta joined by `+`"
    )
}

fn modifier(name: &str) -> Option<char> {
    Some(
        match name.to_ascii_lowercase().as_str() {
            "control" | "ctrl" => Key::Control,
            "shift" => Key::Shift,
            "alt" | "option" => Key::Alt,
            "meta" | "cmd" | "command" | "super" => Key::Meta,
            _ => return None,
        }
        .value(),
    )
}

fn named(name: &str) -> Option<char> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c);
    }
    if let Some(m) = modifier(name) {
        return Some(m);
    }
    let key = match name.to_ascii_lowercase().as_str() {
        "enter" | "return" => Key::Enter,
        "tab" => Key::Tab,
        "escape" | "esc" => Key::Escape,
        "backspace" => Key::Backspace,
        "delete" | "del" => Key::Delete,
        "space" => return Some(' '),
        "arrowup" | "up" => Key::Up,
        "arrowdown" | "down" => Key::Down,
        "arrowleft" | "left" => Key::Left,
        "arrowright" | "right" => Key::Right,
        "home" => Key::Home,
        "end" => Key::End,
        "pageup" => Key::PageUp,
        "pagedown" => Key::PageDown,
        "insert" => Key::Insert,
        "plus" => return Some('+'),
        f if f.starts_with('f') => match f[1..].parse::<u8>().ok()? {
            1 => Key::F1,
            2 => Key::F2,
            3 => Key::F3,
            4 => Key::F4,
            5 => Key::F5,
            6 => Key::F6,
            7 => Key::F7,
            8 => Key::F8,
            9 => Key::F9,
            10 => Key::F10,
            11 => Key::F11,
            12 => Key::F12,
            _ => return None,
        },
        _ => return None,
    };
    Some(key.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_chords_and_characters() {
        let chords = parse("Control+a Enter x Shift+Tab Control++").expect("valid");
        assert_eq!(
            chords[0],
            Chord {
                modifiers: vec![Key::Control.value()],
                key: 'a'
            }
        );
        assert_eq!(chords[1].key, Key::Enter.value());
        assert_eq!(chords[2].key, 'x');
        assert_eq!(
            chords[3],
            Chord {
                modifiers: vec![Key::Shift.value()],
                key: Key::Tab.value()
            }
        );
        assert_eq!(
            chords[4],
            Chord {
                modifiers: vec![Key::Control.value()],
                key: '+'
            }
        );
    }

    #[test]
    fn names_an_unknown_key() {
        let error = parse("Control+Whatever").expect_err("unknown");
        assert!(error.contains("\"Whatever\""), "{error}");
        assert!(parse("Hyper+a").expect_err("unknown").contains("\"Hyper\""));
        assert!(parse("  ").is_err());
    }
}
