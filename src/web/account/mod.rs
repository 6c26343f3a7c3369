//! The signed-in user's own account.

pub mod password;
mod qr_svg;
pub mod two_factor;
