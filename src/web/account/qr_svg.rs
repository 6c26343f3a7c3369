//! A QR code as an inline SVG, drawn here from the code's modules: the enrolment page needs
//! no script, no image request and no external service to show the `otpauth://` URI.

use std::fmt::Write;

use qrcode::types::Color;
use qrcode::{EcLevel, QrCode};

/// Modules of white border around the code (the QR specification's quiet zone).
const QUIET_ZONE: usize = 4;

/// An `<svg>` element showing `text` as a QR code, `title` read by screen readers.
pub fn qr_svg(text: &str, title: &str) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot make a QR code: {e}"))?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (index, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let x = index % width + QUIET_ZONE;
            let y = index / width + QUIET_ZONE;
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         class=\"qr-code\" role=\"img\" aria-labelledby=\"qr-title\" \
         shape-rendering=\"crispEdges\"><title id=\"qr-title\">{title}</title>\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_holds_the_modules_of_the_code() {
        let svg = qr_svg("otpauth://totp/Coffer:ann?secret=ABC", "QR <code>").unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(
            svg.contains("<title id=\"qr-title\">QR &lt;code&gt;</title>"),
            "{svg}"
        );
        let code = QrCode::with_error_correction_level(
            "otpauth://totp/Coffer:ann?secret=ABC".as_bytes(),
            EcLevel::M,
        )
        .unwrap();
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert_eq!(svg.matches("h1v1h-1z").count(), dark);
        // Nothing to fetch: the only URL is the SVG namespace.
        assert_eq!(svg.matches("http").count(), 1, "{svg}");
    }
}
