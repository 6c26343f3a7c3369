//! Audit messages name things between backticks (“`admin` deleted schedule `nightly`”), a
//! habit of logs and terminals. Pages show those names as code instead of literal backticks:
//! the text is HTML-escaped first, then each pair of backticks becomes `<code>…</code>`; a
//! backtick without its pair stays as it is.

/// `text` as HTML with its backtick pairs as code spans (escaped: safe to insert as is).
pub fn code_spans(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        escape_into(&mut html, &rest[..open]);
        html.push_str("<code>");
        escape_into(&mut html, &rest[open + 1..open + 1 + len]);
        html.push_str("</code>");
        rest = &rest[open + 2 + len..];
    }
    escape_into(&mut html, rest);
    html
}

fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            c => html.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::code_spans;

    #[test]
    fn backtick_pairs_become_code_and_everything_is_escaped() {
        assert_eq!(
            code_spans("`admin` deleted schedule `nightly`"),
            "<code>admin</code> deleted schedule <code>nightly</code>"
        );
        assert_eq!(
            code_spans("restore `<b>` & \"x\" 'y'"),
            "restore <code>&lt;b&gt;</code> &amp; &quot;x&quot; &#x27;y&#x27;"
        );
        assert_eq!(code_spans("a ` alone"), "a ` alone");
        assert_eq!(code_spans("`a` and ` b"), "<code>a</code> and ` b");
        assert_eq!(code_spans("``"), "<code></code>");
        assert_eq!(code_spans("ünïcode `é`"), "ünïcode <code>é</code>");
    }
}
