//! Which names an expression or template reads, found from its text, so the engine knows
//! whether a value was computed from a secret.
//!
//! This is a small lexer rather than minijinja's `undeclared_variables`: in minijinja 3.1
//! that analysis skips the target of a slice (`inputs.password[1:]` reads nothing), and a
//! `{% set inputs = ... %}` hides later reads of `inputs`. A lexer that takes every name
//! in the code as a read can only over-report, never miss one: the only ways a template
//! reaches the context are names written in its code (the `debug()` global, which dumps
//! the whole context, is removed from the environment). For the same reason a
//! `{% raw %}` block is read as code: a name in it counts as read, which is harmless.

/// A path an expression reads: a root name, then attribute names or constant subscripts
/// (`assets.cred["password"]` is `["assets", "cred", "password"]`). A dynamic subscript
/// ends the path there, so the whole value before it counts as read.
pub(crate) type ReadPath = Vec<String>;

/// One part of a template's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    /// Text written out as it is.
    Text(&'a str),
    /// The code of `{{ ... }}`, without the braces (whitespace marks like `-` included).
    Expr(&'a str),
    /// The code of `{% ... %}`, without the delimiters.
    Statement(&'a str),
    /// A `{# comment #}`, delimiters included.
    Comment(&'a str),
}

/// Splits a template into text, expressions, statements and comments. Delimiters inside
/// string literals of the code do not end it, as in minijinja's own lexer.
pub(crate) fn parts(template: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open))
            .min();
        let Some(at) = next else {
            parts.push(Part::Text(rest));
            break;
        };
        if at > 0 {
            parts.push(Part::Text(&rest[..at]));
        }
        let opened = &rest[at..];
        if opened.starts_with("{#") {
            let end = opened.find("#}").map_or(opened.len(), |i| i + 2);
            parts.push(Part::Comment(&opened[..end]));
            rest = &opened[end..];
            continue;
        }
        let close = if opened.starts_with("{{") { "}}" } else { "%}" };
        let code = &opened[2..];
        let end = code_end(code, close);
        parts.push(if close == "}}" {
            Part::Expr(&code[..end])
        } else {
            Part::Statement(&code[..end])
        });
        rest = code.get(end + close.len()..).unwrap_or("");
    }
    parts
}

/// Where the code before `close` ends (the whole text when it never closes).
fn code_end(code: &str, close: &str) -> usize {
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => i = string_end(bytes, i + 1, quote),
            _ if bytes[i..].starts_with(close.as_bytes()) => return i,
            _ => i += 1,
        }
    }
    code.len()
}

/// The index after the closing quote of a string literal whose text starts at `i`.
fn string_end(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The paths an expression (code without braces) reads.
pub(crate) fn expression_reads(code: &str) -> Vec<ReadPath> {
    let mut out = Vec::new();
    code_reads(code, &mut out);
    out
}

/// The path an expression is made of, when it is nothing but one path
/// (`steps.login.output`, `assets["erp"]`): its value is that value, unchanged.
pub(crate) fn bare_path(code: &str) -> Option<ReadPath> {
    let tokens = tokens(code);
    let (path, used) = chain(&tokens, 0)?;
    (used == tokens.len()).then_some(path)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Int(String),
    /// A string literal's text, or `None` when it has escapes (not used as a key then).
    Str(Option<String>),
    Punct(char),
}

fn tokens(code: &str) -> Vec<Token> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token::Name(code[start..i].to_owned()));
        } else if c.is_ascii_digit() {
            // Digits only: `1.5` is `1`, `.`, `5`, which starts no path.
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Token::Int(code[start..i].to_owned()));
        } else if c == b'"' || c == b'\'' {
            let end = string_end(bytes, i + 1, c);
            let inner = code.get(i + 1..end.saturating_sub(1)).unwrap_or("\\");
            out.push(Token::Str(
                (!inner.contains('\\')).then(|| inner.to_owned()),
            ));
            i = end;
        } else {
            // Any other character (multi-byte ones included) is punctuation here.
            let ch = code[i..].chars().next().unwrap_or(' ');
            out.push(Token::Punct(ch));
            i += ch.len_utf8();
        }
    }
    out
}

/// The path that starts with the name at `start`, and the index after it.
fn chain(tokens: &[Token], start: usize) -> Option<(ReadPath, usize)> {
    let Some(Token::Name(root)) = tokens.get(start) else {
        return None;
    };
    let mut path = vec![root.clone()];
    let mut i = start + 1;
    loop {
        match (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2)) {
            (Some(Token::Punct('.')), Some(Token::Name(key) | Token::Int(key)), _) => {
                path.push(key.clone());
                i += 2;
            }
            (
                Some(Token::Punct('[')),
                Some(Token::Str(Some(key)) | Token::Int(key)),
                Some(Token::Punct(']')),
            ) => {
                path.push(key.clone());
                i += 3;
            }
            _ => return Some((path, i)),
        }
    }
}

fn code_reads(code: &str, out: &mut Vec<ReadPath>) {
    let tokens = tokens(code);
    let mut i = 0;
    while i < tokens.len() {
        let after_dot = i > 0 && tokens[i - 1] == Token::Punct('.');
        match chain(&tokens, i) {
            // A name after a dot is an attribute of something computed (`f(x).name`).
            Some((path, next)) if !after_dot => {
                out.push(path);
                i = next;
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths every piece of code in a template reads, dotted.
    fn reads(template: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in parts(template) {
            if let Part::Expr(code) | Part::Statement(code) = part {
                code_reads(code, &mut out);
            }
        }
        out.into_iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn finds_paths_in_expressions_and_statements() {
        assert_eq!(
            reads("a {{ inputs.pw | upper }} b {% if vars.x %}{{ y }}{% endif %}"),
            ["inputs.pw", "upper", "if", "vars.x", "y", "endif"]
        );
        assert_eq!(
            reads(r#"{{ assets["cred"]['password'] ~ x[0] ~ z[k].a }}"#),
            ["assets.cred.password", "x.0", "z", "k"]
        );
    }

    #[test]
    fn slices_filters_and_calls_still_read_their_target() {
        assert_eq!(reads("{{ inputs.pw[1:] }}"), ["inputs.pw"]);
        assert_eq!(reads("{{ (inputs.pw ~ 'x')[::-1] }}"), ["inputs.pw"]);
        assert_eq!(
            reads("{{ f(inputs.pw).name | replace('a', b) }}"),
            ["f", "inputs.pw", "replace", "b"]
        );
        assert_eq!(reads("{{ x[\"a\\\"b\"] }}"), ["x"]);
    }

    #[test]
    fn strings_comments_and_text_are_not_reads() {
        assert_eq!(
            reads("inputs.pw {# inputs.pw #} {{ 'inputs.pw }}' }}"),
            Vec::<String>::new()
        );
        assert_eq!(reads("{{ \"}}\" ~ a }} {{ b"), ["a", "b"]);
    }

    #[test]
    fn bare_paths_are_recognised() {
        assert_eq!(
            bare_path(" assets.cred "),
            Some(vec!["assets".into(), "cred".into()])
        );
        assert_eq!(
            bare_path("steps['a'].output.0"),
            Some(vec![
                "steps".into(),
                "a".into(),
                "output".into(),
                "0".into()
            ])
        );
        assert_eq!(bare_path("assets.cred | upper"), None);
        assert_eq!(bare_path("a[b]"), None);
        assert_eq!(bare_path("'text'"), None);
    }
}
