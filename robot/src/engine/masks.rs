//! The texts masked wherever they appear, and the search for them.
//!
//! A run can add thousands of texts (a loop that sends a new value computed from a
//! secret on each pass), and every event is searched for all of them. They are searched
//! with Aho-Corasick automata kept like a binary counter: the newest few dozen texts one
//! by one, the others in automata of doubling sizes, two of a size merged into one. Each
//! text is so built into O(log n) automata over the run, and a search runs O(log n) of
//! them, where one automaton rebuilt on every addition would cost O(n²).

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};

use super::taint::MASK;

/// How many texts may wait for the next rebuild of the automaton.
const RECENT_MAX: usize = 64;

#[derive(Default)]
pub(crate) struct Masks {
    known: HashSet<String>,
    /// Automata with their texts, largest first, each at most half the one before.
    levels: Vec<(Vec<String>, AhoCorasick)>,
    /// Texts not in an automaton yet, searched one by one.
    recent: Vec<String>,
}

impl Masks {
    pub(crate) fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Masks `text` wherever it appears from now on.
    pub(crate) fn add(&mut self, text: &str) {
        if text.is_empty() || !self.known.insert(text.to_owned()) {
            return;
        }
        self.recent.push(text.to_owned());
        if self.recent.len() < RECENT_MAX {
            return;
        }
        let mut texts = std::mem::take(&mut self.recent);
        while let Some((last, _)) = self.levels.last()
            && last.len() <= texts.len()
        {
            if let Some((mut merged, _)) = self.levels.pop() {
                merged.append(&mut texts);
                texts = merged;
            }
        }
        // Overlapping search needs the standard match kind; spans are merged in `apply`.
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
        {
            Ok(automaton) => self.levels.push((texts, automaton)),
            // Too big to build (never seen in practice): search them one by one.
            Err(_) => self.recent = texts,
        }
    }

    /// The text with every stretch covered by a secret replaced by one mask. Where two
    /// secrets overlap, all of both is masked, so no piece of either shows.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (_, automaton) in &self.levels {
            spans.extend(
                automaton
                    .find_overlapping_iter(text)
                    .map(|m| (m.start(), m.end())),
            );
        }
        for secret in &self.recent {
            let mut from = 0;
            while let Some(at) = text[from..].find(secret.as_str()) {
                let start = from + at;
                spans.push((start, start + secret.len()));
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if spans.is_empty() {
            return text.to_owned();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let (mut shown_to, mut open) = (0, None::<(usize, usize)>);
        for (start, end) in spans {
            match open {
                Some((_, open_end)) if start <= open_end => {
                    open = open.map(|(s, e)| (s, e.max(end)));
                }
                _ => {
                    if let Some((s, e)) = open {
                        out.push_str(&text[shown_to..s]);
                        out.push_str(MASK);
                        shown_to = e;
                    }
                    open = Some((start, end));
                }
            }
        }
        if let Some((s, e)) = open {
            out.push_str(&text[shown_to..s]);
            out.push_str(MASK);
            shown_to = e;
        }
        out.push_str(&text[shown_to..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_nested_secrets_are_masked_whole() {
        let mut masks = Masks::default();
        masks.add("hunter2");
        masks.add("ter2x");
        masks.add("nt");
        assert_eq!(
            masks.apply("a hunter2x b hunter2 c nt"),
            "a *** b *** c ***"
        );
        assert_eq!(masks.apply("nothing"), "nothing");
        assert_eq!(masks.apply("ünter2x"), "ü***");
        assert_eq!(masks.apply("ü hunter"), "ü hu***er");
    }

    #[test]
    fn many_secrets_are_found_by_the_automaton_and_the_recent_list() {
        let mut masks = Masks::default();
        for i in 0..1000 {
            masks.add(&format!("secret-{i:04}"));
        }
        // 1000 = 512 + 256 + 128 + 64 + 40 waiting.
        let sizes: Vec<usize> = masks.levels.iter().map(|(t, _)| t.len()).collect();
        assert_eq!(sizes, [512, 256, 128, 64]);
        assert_eq!(masks.recent.len(), 40);
        assert_eq!(
            masks.apply("secret-0001 and secret-0999, secret-1000"),
            "*** and ***, secret-1000"
        );
    }
}
