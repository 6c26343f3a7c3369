//! The Prometheus text exposition format (version 0.0.4): a `# HELP` and a `# TYPE` line per
//! metric family, then its samples; label values escaped, `+Inf` for the last bucket.

use std::fmt::Write;

use crate::db::Distribution;

#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts the family `name` of `kind` (`gauge`, `counter`, `histogram`).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// A whole histogram family from cumulative counts.
    pub fn histogram(&mut self, name: &str, help: &str, dist: &Distribution) {
        self.family(name, "histogram", help);
        for (bound, n) in &dist.buckets {
            let le = number(*bound);
            self.sample(&format!("{name}_bucket"), &[("le", &le)], *n as f64);
        }
        self.sample(
            &format!("{name}_bucket"),
            &[("le", "+Inf")],
            dist.count as f64,
        );
        self.sample(&format!("{name}_sum"), &[], dist.sum);
        self.sample(&format!("{name}_count"), &[], dist.count as f64);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Whole numbers without a fraction (counts read better), others as Rust prints them.
fn number(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_buckets_end_with_inf() {
        let mut e = Exposition::default();
        e.family("coffer_x", "gauge", "An x.");
        e.sample("coffer_x", &[("source", "a\"b\\c")], 1.5);
        e.histogram(
            "coffer_h_seconds",
            "H.",
            &Distribution {
                buckets: vec![(10.0, 1)],
                count: 2,
                sum: 30.5,
            },
        );
        let text = e.finish();
        assert!(
            text.contains("coffer_x{source=\"a\\\"b\\\\c\"} 1.5\n"),
            "{text}"
        );
        assert!(
            text.contains("coffer_h_seconds_bucket{le=\"10\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("coffer_h_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("coffer_h_seconds_count 2\n"), "{text}");
    }
}
