//! A throw-away certificate authority and a server certificate for 127.0.0.1 / localhost,
//! made with the `openssl` command. The client trusts the CA only, so the test checks the
//! chain nginx serves as a browser would.

use std::path::{Path, PathBuf};

use crate::helpers::tool;

pub struct TestCertificate {
    /// The CA's certificate (PEM): what the client trusts.
    pub ca: PathBuf,
    /// The folder holding the server's `fullchain.pem` and `privkey.pem`, as the shipped
    /// config names them.
    pub dir: PathBuf,
}

/// Writes `ca.pem`, `fullchain.pem` and `privkey.pem` into `dir`.
pub fn make_certificate(dir: &Path) -> TestCertificate {
    std::fs::create_dir_all(dir).unwrap();
    let at = |name: &str| dir.join(name).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Coffer test CA"];
    ca.extend(ec);
    let (ca_key, ca_pem) = (at("ca-key.pem"), at("ca.pem"));
    ca.extend(["-keyout", ca_key.as_str(), "-out", ca_pem.as_str()]);
    run_openssl(&ca);

    let (key, request) = (at("privkey.pem"), at("server.csr"));
    let mut csr = vec!["req", "-new", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", key.as_str(), "-out", request.as_str()]);
    run_openssl(&csr);

    // A leaf certificate (not a CA), for the names the client connects to.
    let extensions = at("server.ext");
    std::fs::write(
        &extensions,
        "basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature\n\
         extendedKeyUsage = serverAuth\n\
         subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap();
    let chain = at("fullchain.pem");
    run_openssl(&[
        "x509",
        "-req",
        "-in",
        &request,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &extensions,
        "-out",
        &chain,
    ]);
    TestCertificate {
        ca: ca_pem.into(),
        dir: dir.to_path_buf(),
    }
}

fn run_openssl(args: &[&str]) {
    let out = tool("openssl", args);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
