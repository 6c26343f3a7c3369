//! A real S3 server (moto_server, from PyPI's `moto[server]`) on a free loopback port, one
//! per test, killed when dropped; and config snippets pointing Coffer at a bucket of it.

use std::fs;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coffer::storage::Storage;

use crate::helpers::TestEnv;

pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

pub const ACCESS_KEY: &str = "coffer-test-key";
pub const SECRET_KEY: &str = "coffer-test-secret";

impl S3Server {
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server must be installed for the S3 tests (pip install 'moto[server]'; .ci/run does it)");
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        let client = crate::helpers::http_client().build().unwrap();
        while client.get(&server.endpoint).send().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Creates `bucket` (moto takes unsigned requests).
    pub fn create_bucket(&self, bucket: &str) {
        let response = crate::helpers::http_client()
            .build()
            .unwrap()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "creating bucket {bucket}: {response:?}"
        );
    }

    /// Keys in `bucket`, as S3 lists them (ListObjectsV2, unsigned).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let text = crate::helpers::http_client()
            .build()
            .unwrap()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// Multipart uploads started in `bucket` and neither completed nor aborted.
    pub fn open_uploads(&self, bucket: &str) -> usize {
        let text = crate::helpers::http_client()
            .build()
            .unwrap()
            .get(format!("{}/{bucket}?uploads", self.endpoint))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.matches("<UploadId>").count()
    }

    /// Creates `bucket` with Object Lock enabled (and so versioning), as
    /// `aws s3api create-bucket --object-lock-enabled-for-bucket` does.
    pub fn create_locked_bucket(&self, bucket: &str) {
        let response = crate::helpers::http_client()
            .build()
            .unwrap()
            .put(format!("{}/{bucket}", self.endpoint))
            .header("x-amz-bucket-object-lock-enabled", "true")
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "creating bucket {bucket}: {response:?}"
        );
    }

    /// The settings of an s3 target in `bucket` of this server.
    pub fn settings(&self, bucket: &str) -> coffer::config::S3Settings {
        coffer::config::S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            prefix: String::new(),
            path_style: true,
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: None,
            part_size: 5 << 20,
            unsigned_payload: false,
        }
    }

    /// Coffer's own client for `bucket` (signed requests: moto keeps objects private).
    pub fn storage(&self, bucket: &str) -> coffer::storage::S3Storage {
        coffer::storage::S3Storage::new(&self.settings(bucket)).unwrap()
    }

    /// One S3 API request signed with the same full credentials Coffer holds (SigV4, by
    /// object_store's signer), as an administrator's script would send it: `path` is
    /// `/bucket/key?query`. Returns status, headers and body.
    pub fn signed(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let url = format!("{}{path}", self.endpoint);
        let mut request = http::Request::builder()
            .method(method)
            .uri(&url)
            .body(object_store::client::HttpRequestBody::from(Vec::new()))
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        let credential = object_store::aws::AwsCredential {
            key_id: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            token: None,
        };
        object_store::aws::AwsAuthorizer::new(&credential, "s3", "us-east-1")
            .try_authorize(&mut request, None)
            .unwrap();
        let client = crate::helpers::http_client().build().unwrap();
        let mut outgoing = client.request(method.parse().unwrap(), &url);
        for (name, value) in request.headers() {
            outgoing = outgoing.header(name.as_str(), value.to_str().unwrap());
        }
        let response = outgoing.send().unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().unwrap().to_vec())
    }

    /// The versions of `key` in `bucket` (ListObjectVersions): (version id, is a delete
    /// marker), newest first.
    pub fn versions(&self, bucket: &str, key: &str) -> Vec<(String, bool)> {
        let (status, _, body) =
            self.signed("GET", &format!("/{bucket}?versions&prefix={key}"), &[]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let text = String::from_utf8_lossy(&body).to_string();
        let mut found = Vec::new();
        for (marker, tag) in [(false, "<Version>"), (true, "<DeleteMarker>")] {
            for entry in text.split(tag).skip(1) {
                let entry_key = entry
                    .split("<Key>")
                    .nth(1)
                    .and_then(|r| r.split("</Key>").next());
                if entry_key != Some(key) {
                    continue;
                }
                let id = entry
                    .split("<VersionId>")
                    .nth(1)
                    .and_then(|r| r.split("</VersionId>").next())
                    .unwrap()
                    .to_string();
                found.push((id, marker));
            }
        }
        found
    }

    /// Reads one object whole.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut reader = self.storage(bucket).open(key).unwrap();
        std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
        bytes
    }

    /// Replaces one object's content.
    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let mut object = self.storage(bucket).create(key).unwrap();
        std::io::Write::write_all(&mut object, &body).unwrap();
        object.commit().unwrap();
    }

    /// The TOML keys of an s3 target in `bucket` of this server (small parts, so tests
    /// exercise multipart uploads with little data).
    pub fn target(&self, bucket: &str, prefix: &str) -> String {
        format!(
            "kind = \"s3\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\npath_style = true\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\npart_size_mib = 5\n",
            self.endpoint
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the environment's primary storage target `[storage]` the given TOML body.
pub fn set_primary_storage(env: &TestEnv, body: &str) {
    let text = fs::read_to_string(&env.config).unwrap();
    let start = text.find("[storage]\n").expect("a [storage] table");
    let end = start
        + text[start..]
            .find("\n[archive]")
            .expect("[archive] after [storage]");
    let replaced = format!("{}[storage]\n{body}{}", &text[..start], &text[end..]);
    fs::write(&env.config, replaced).unwrap();
}

/// Adds a replica named `name` with the given TOML body.
pub fn add_replica(env: &TestEnv, name: &str, body: &str) {
    let mut text = fs::read_to_string(&env.config).unwrap();
    text.push_str(&format!(
        "\n[[storage.replicas]]\nname = \"{name}\"\n{body}"
    ));
    fs::write(&env.config, text).unwrap();
}
