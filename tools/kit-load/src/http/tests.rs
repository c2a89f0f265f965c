use super::*;

#[test]
fn urls_get_a_path_and_must_be_plain_http() {
    let load = HttpLoad::new("http://127.0.0.1:8080").unwrap();
    assert_eq!(load.url().path(), "/");
    assert_eq!(load.host_port(), "127.0.0.1:8080");
    assert_eq!(
        HttpLoad::new("http://localhost/x?y=1").unwrap().host_port(),
        "localhost:80"
    );
    let cases = [
        ("", "invalid url"),
        ("127.0.0.1:8080", "no scheme"),
        ("/sum", "no scheme"),
        ("https://127.0.0.1/", "https is not supported"),
        ("ftp://127.0.0.1/", "is not http"),
        ("http://", "invalid url"),
        ("http://exa mple/", "invalid url"),
        ("http://[::1/", "invalid url"),
    ];
    for (url, want) in cases {
        let err = HttpLoad::new(url).unwrap_err().to_string();
        assert!(err.contains(want), "{url:?}: {err}");
    }
}

#[test]
fn headers_parse_and_reject_garbage() {
    let (name, value) = parse_header("Content-Type: application/json").unwrap();
    assert_eq!(
        (name.as_str(), value.to_str().unwrap()),
        ("content-type", "application/json")
    );
    let (_, value) = parse_header("x-empty:").unwrap();
    assert_eq!(value, "");
    for bad in [
        "no colon",
        ": value",
        "bad name: v",
        "x: line\nbreak",
        "x: \u{7f}",
    ] {
        let err = parse_header(bad).unwrap_err().to_string();
        assert!(err.starts_with("invalid header"), "{bad:?}: {err}");
    }
}

#[test]
fn http1_requests_carry_host_unless_one_is_given() {
    let load = HttpLoad::new("http://127.0.0.1:8080/sum").unwrap();
    assert_eq!(load.h1_headers()[HOST], "127.0.0.1:8080");
    let load = load.with_header("Host", "example.com").unwrap();
    assert_eq!(load.h1_headers()[HOST], "example.com");
    assert_eq!(load.h1_headers().get_all(HOST).iter().count(), 1);
}

#[test]
fn builders_set_what_they_say() {
    let load = HttpLoad::new("http://127.0.0.1:1/")
        .unwrap()
        .with_method(Method::PUT)
        .with_body("x")
        .with_http2(true);
    assert_eq!(load.method(), Method::PUT);
    assert_eq!(load.bodies().get(0), "x");
    assert!(load.is_http2());
}

#[test]
fn several_streams_need_http2() {
    let settings = Settings {
        streams: 4,
        ..Settings::default()
    };
    let h1 = HttpLoad::new("http://127.0.0.1:1/").unwrap();
    let err = h1.check(&settings).unwrap_err().to_string();
    assert!(
        err.contains("HTTP/1.1 keeps one request in flight"),
        "{err}"
    );
    assert!(h1.with_http2(true).check(&settings).is_ok());
}

#[test]
fn unresolvable_hosts_are_errors() {
    assert!(resolve("host.invalid:80").is_err());
    assert_eq!(resolve("127.0.0.1:9").unwrap().port(), 9);
}
