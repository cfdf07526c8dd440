//! Finds where a path such as `steps[3].then[0].url` stands in a JSON text, so errors
//! found after parsing can still name a line and column.

pub(crate) enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

pub(crate) fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(index) = rest[1..end].parse() {
                out.push(Segment::Index(index));
            }
            rest = &rest[end + 1..];
        }
    }
    out
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Reads a string starting at the current `"`, returning its raw contents.
    fn string(&mut self) -> Option<&str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return std::str::from_utf8(&self.bytes[start..self.pos - 1]).ok();
                }
                _ => self.pos += 1,
            }
        }
        None
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.pos < self.bytes.len() {
                    match self.bytes[self.pos] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                None
            }
            _ => {
                while self.pos < self.bytes.len() && !b",}] \t\r\n".contains(&self.bytes[self.pos])
                {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Moves to the value named by `segment` in the value at the current position;
    /// returns the offset that best names it (the key for object members).
    fn enter(&mut self, segment: &Segment<'_>) -> Option<usize> {
        match segment {
            Segment::Key(wanted) => {
                if !self.eat(b'{') {
                    return None;
                }
                loop {
                    self.peek()?;
                    let key_at = self.pos;
                    let key = self.string()?;
                    let matched = key == *wanted;
                    if !self.eat(b':') {
                        return None;
                    }
                    if matched {
                        self.skip_ws();
                        return Some(key_at);
                    }
                    self.skip_value()?;
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            Segment::Index(wanted) => {
                if !self.eat(b'[') {
                    return None;
                }
                for _ in 0..*wanted {
                    self.skip_value()?;
                    if !self.eat(b',') {
                        return None;
                    }
                }
                self.skip_ws();
                Some(self.pos)
            }
        }
    }
}

/// The 1-based line and column of the deepest part of `path` found in `source`.
pub(crate) fn locate(source: &str, path: &str) -> Option<(usize, usize)> {
    let mut scanner = Scanner {
        bytes: source.as_bytes(),
        pos: 0,
    };
    scanner.skip_ws();
    let mut best = scanner.pos;
    for segment in segments(path) {
        match scanner.enter(&segment) {
            Some(at) => best = at,
            None => {
                break;
            }
        }
    }
    Some(line_column(source, best))
}

/// The 1-based line and column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_members_and_elements() {
        let src = "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"action\": \"log\"},\n    {\"action\": \"if\", \"then\": [ {\"url\": 1} ]}\n  ]\n}";
        assert_eq!(locate(src, "steps[1]"), Some((5, 5)));
        assert_eq!(locate(src, "steps[1].then[0].url"), Some((5, 33)));
        assert_eq!(locate(src, "steps[0].action"), Some((4, 6)));
        // A missing member points at the deepest part that exists.
        assert_eq!(locate(src, "steps[1].nope"), Some((5, 5)));
        assert_eq!(locate(src, ""), Some((1, 1)));
    }
}
