//! TLS and mutual TLS on both transports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use http::Method;
use kit_endpoint::{Code, Endpoint, Error, Request, endpoint_fn};
use kit_testkit::echo::echo_server::{Echo, EchoServer};
use kit_testkit::echo::{EchoReply, EchoRequest};
use kit_transport::grpc::{self, GrpcClient, GrpcServer, ResponseStream};
use kit_transport::http::{HttpClient, HttpServer, Pool, json};
use kit_transport::serve::Server;
use kit_transport::tls;
use support::Pki;
use tonic::{Response, Status};
use tower::ServiceExt;

type Id = fn(EchoRequest) -> Result<EchoRequest, Error>;
type Out = fn(EchoReply) -> Result<EchoReply, Error>;
type Ep = Endpoint<Request<EchoRequest>, EchoReply>;

fn echo() -> Ep {
    Endpoint::new(endpoint_fn(|req: Request<EchoRequest>| async move {
        Ok::<_, Error>(EchoReply {
            message: req.body.message,
            ..Default::default()
        })
    }))
}

struct Svc(GrpcServer<Ep, Id, Out>);

#[tonic::async_trait]
impl Echo for Svc {
    async fn unary(&self, req: tonic::Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        self.0.unary(req).await
    }
    type ServerStreamStream = ResponseStream<EchoReply>;
    async fn server_stream(
        &self,
        _req: tonic::Request<EchoRequest>,
    ) -> Result<Response<ResponseStream<EchoReply>>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

/// HTTP (`POST /echo`, JSON) and gRPC on one TLS port.
fn app() -> Router {
    let id: Id = Ok;
    let out: Out = Ok;
    let grpc = tonic::service::Routes::new(EchoServer::new(Svc(GrpcServer::new(echo(), id, out))))
        .into_axum_router();
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Msg {
        message: String,
    }
    let http = endpoint_fn(|req: Request<Msg>| async move { Ok::<_, Error>(req.body) });
    Router::new()
        .route_service(
            "/echo",
            HttpServer::new(http, json::decode::<Msg>, json::encode::<Msg>),
        )
        .merge(grpc)
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Msg {
    message: String,
}

fn http_client(pool: Pool, addr: std::net::SocketAddr) -> Endpoint<Request<Msg>, Msg> {
    Endpoint::new(HttpClient::with_options(
        pool,
        Method::POST,
        format!("https://localhost:{}/echo", addr.port())
            .parse()
            .unwrap(),
        json::encode_request::<Msg>,
        json::decode_response::<Msg>,
        Default::default(),
    ))
}

fn grpc_client(pki: &Pki, addr: std::net::SocketAddr, with_cert: bool) -> Ep {
    let identity = with_cert.then_some((pki.client_cert.as_bytes(), pki.client_key.as_bytes()));
    let channel = grpc::channel_tls(
        &format!("https://127.0.0.1:{}", addr.port()),
        "localhost",
        pki.ca.as_bytes(),
        identity,
    )
    .unwrap();
    let id: Id = Ok;
    let out: Out = Ok;
    Endpoint::new(GrpcClient::new(
        channel,
        "/kit.test.echo.Echo/Unary",
        id,
        out,
    ))
}

#[tokio::test]
async fn tls_serves_http_and_grpc() {
    let pki = Pki::new();
    let config = tls::server_config(pki.server_cert.as_bytes(), pki.server_key.as_bytes()).unwrap();
    let (addr, _server) = support::spawn(Server::new().tls(config), app()).await;

    let pool = Pool::with_tls(tls::client_config(pki.ca.as_bytes(), None).unwrap());
    let reply = http_client(pool, addr)
        .oneshot(Request::new(Msg {
            message: "over https".into(),
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "over https");

    let reply = grpc_client(&pki, addr, false)
        .oneshot(Request::new(EchoRequest {
            message: "over grpcs".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "over grpcs");

    // a client that does not trust the CA is refused
    let other = Pki::new();
    let pool = Pool::with_tls(tls::client_config(other.ca.as_bytes(), None).unwrap());
    let err = http_client(pool, addr)
        .oneshot(Request::new(Msg {
            message: "x".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate() {
    let pki = Pki::new();
    let config = tls::server_config_mtls(
        pki.server_cert.as_bytes(),
        pki.server_key.as_bytes(),
        pki.ca.as_bytes(),
    )
    .unwrap();
    let (addr, _server) = support::spawn(Server::new().tls(config), app()).await;

    // with a certificate: served
    let identity = (pki.client_cert.as_bytes(), pki.client_key.as_bytes());
    let pool = Pool::with_tls(tls::client_config(pki.ca.as_bytes(), Some(identity)).unwrap());
    let reply = http_client(pool, addr)
        .oneshot(Request::new(Msg {
            message: "mutual".into(),
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "mutual");
    let reply = grpc_client(&pki, addr, true)
        .oneshot(Request::new(EchoRequest {
            message: "mutual".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(reply.message, "mutual");

    // without: refused, on both transports
    let pool = Pool::with_tls(tls::client_config(pki.ca.as_bytes(), None).unwrap());
    let err = http_client(pool, addr)
        .oneshot(Request::new(Msg {
            message: "anonymous".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let err = grpc_client(&pki, addr, false)
        .oneshot(Request::new(EchoRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    // a certificate from another CA: refused
    let other = Pki::new();
    let identity = (other.client_cert.as_bytes(), other.client_key.as_bytes());
    let pool = Pool::with_tls(tls::client_config(pki.ca.as_bytes(), Some(identity)).unwrap());
    let err = http_client(pool, addr)
        .oneshot(Request::new(Msg {
            message: "impostor".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}
