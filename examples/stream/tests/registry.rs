//! Registration in a real etcd (through kit-testkit): the key appears with
//! the address under a lease, and goes on deregistration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kit_endpoint::Code;
use kit_sd::etcd::etcd_client::{Client, GetOptions};
use kit_testkit::EtcdServer;
use stream::registry::{RegistryConfig, register};

async fn value(client: &mut Client, key: &str) -> Option<(String, i64)> {
    let resp = client.get(key, None::<GetOptions>).await.unwrap();
    resp.kvs()
        .first()
        .map(|kv| (kv.value_str().unwrap().to_string(), kv.lease()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_under_a_lease_and_deregisters() {
    let etcd = EtcdServer::start().unwrap();
    let config = RegistryConfig::new(vec![etcd.endpoint()], "127.0.0.1:6302");
    assert_eq!(config.key(), "/services/stream/127.0.0.1:6302");
    let registration = register(&config).await.unwrap();
    assert!(registration.is_alive());
    let mut client = Client::connect([etcd.endpoint()], None).await.unwrap();
    let (addr, lease) = value(&mut client, &config.key()).await.expect("registered");
    assert_eq!(addr, "127.0.0.1:6302");
    assert_ne!(lease, 0, "the key is attached to a lease");
    registration.deregister().await.unwrap();
    assert_eq!(
        value(&mut client, &config.key()).await,
        None,
        "deregistered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_etcd_or_an_empty_config_is_an_error() {
    let mut config = RegistryConfig::new(vec![], "127.0.0.1:6302");
    assert_eq!(
        register(&config).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let port = kit_testkit::free_port().unwrap();
    config.endpoints = vec![format!("127.0.0.1:{port}")];
    config.connect_timeout = Duration::from_millis(300);
    let err = register(&config).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}
