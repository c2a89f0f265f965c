//! `Endpoint`, the boxed form of a kit service, and `endpoint_fn`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context as TaskContext, Poll};

use tower::util::BoxCloneSyncService;
use tower::{ServiceExt, util::MapErr};
use tower_layer::Layer;
use tower_service::Service;

use crate::Error;

/// One request/response operation, boxed for wiring: cloneable, `Send + Sync`,
/// with kit's [`Error`].
///
/// This is Go kit's `Endpoint`. Generic code should take any
/// `S: Service<Req, Error = Error>` and let the compiler inline the stack;
/// `Endpoint` is for the places where a concrete type is needed: a field, a
/// map of endpoints per method, a factory's return value in `kit-sd`.
///
/// ```
/// use kit_endpoint::{Endpoint, Error, endpoint_fn};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let double: Endpoint<u32, u32> = Endpoint::new(endpoint_fn(|x: u32| async move { Ok(x * 2) }));
/// assert_eq!(double.oneshot(21).await?, 42);
/// # Ok(()) }
/// ```
pub struct Endpoint<Req, Resp> {
    inner: BoxCloneSyncService<Req, Resp, Error>,
}

impl<Req, Resp> Endpoint<Req, Resp>
where
    Req: 'static,
    Resp: 'static,
{
    /// Boxes any service whose error converts into [`Error`]
    /// (`Error` itself, tower's `BoxError`, `std::io::Error`, …).
    pub fn new<S>(service: S) -> Endpoint<Req, Resp>
    where
        S: Service<Req, Response = Resp> + Clone + Send + Sync + 'static,
        S::Error: Into<Error>,
        S::Future: Send + 'static,
    {
        let service: MapErr<S, fn(S::Error) -> Error> = service.map_err(Into::into);
        Endpoint {
            inner: BoxCloneSyncService::new(service),
        }
    }

    /// A layer that boxes the service it wraps into an `Endpoint`, for the
    /// end of a `ServiceBuilder` chain.
    pub fn layer() -> EndpointLayer<Req, Resp> {
        EndpointLayer {
            _types: PhantomData,
        }
    }
}

/// A [`Layer`] that boxes a service into an [`Endpoint`]; see [`Endpoint::layer`].
pub struct EndpointLayer<Req, Resp> {
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> Clone for EndpointLayer<Req, Resp> {
    fn clone(&self) -> Self {
        EndpointLayer {
            _types: PhantomData,
        }
    }
}

impl<Req, Resp> fmt::Debug for EndpointLayer<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointLayer")
    }
}

impl<S, Req, Resp> Layer<S> for EndpointLayer<Req, Resp>
where
    Req: 'static,
    Resp: 'static,
    S: Service<Req, Response = Resp> + Clone + Send + Sync + 'static,
    S::Error: Into<Error>,
    S::Future: Send + 'static,
{
    type Service = Endpoint<Req, Resp>;

    fn layer(&self, inner: S) -> Endpoint<Req, Resp> {
        Endpoint::new(inner)
    }
}

impl<Req, Resp> Clone for Endpoint<Req, Resp> {
    fn clone(&self) -> Self {
        Endpoint {
            inner: self.inner.clone(),
        }
    }
}

impl<Req, Resp> fmt::Debug for Endpoint<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint").finish_non_exhaustive()
    }
}

impl<Req, Resp> Service<Req> for Endpoint<Req, Resp> {
    type Response = Resp;
    type Error = Error;
    type Future = <BoxCloneSyncService<Req, Resp, Error> as Service<Req>>::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        self.inner.call(req)
    }
}

/// An endpoint from an async function or closure: Go kit's
/// `func(ctx, request) (response, error)`.
///
/// The result is a zero-cost service (no boxing); wrap it in
/// [`Endpoint::new`] where a boxed endpoint is needed.
///
/// ```
/// use kit_endpoint::{Error, Request, endpoint_fn};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let greet = endpoint_fn(|req: Request<String>| async move {
///     Ok::<_, Error>(format!("hello, {}", req.body))
/// });
/// assert_eq!(greet.oneshot(Request::new("kit".to_string())).await?, "hello, kit");
/// # Ok(()) }
/// ```
pub fn endpoint_fn<F, Req, Fut, Resp>(f: F) -> EndpointFn<F, Req>
where
    F: Fn(Req) -> Fut,
    Fut: Future<Output = Result<Resp, Error>>,
{
    EndpointFn {
        f,
        _req: PhantomData,
    }
}

/// The service [`endpoint_fn`] returns.
pub struct EndpointFn<F, Req> {
    f: F,
    // `fn(Req)` keeps the service Send + Sync whatever Req is.
    _req: PhantomData<fn(Req)>,
}

impl<F: Clone, Req> Clone for EndpointFn<F, Req> {
    fn clone(&self) -> Self {
        EndpointFn {
            f: self.f.clone(),
            _req: PhantomData,
        }
    }
}

impl<F, Req> fmt::Debug for EndpointFn<F, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

impl<F, Req, Fut, Resp> Service<Req> for EndpointFn<F, Req>
where
    F: Fn(Req) -> Fut,
    Fut: Future<Output = Result<Resp, Error>>,
{
    type Response = Resp;
    type Error = Error;
    type Future = Fut;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn call(&mut self, req: Req) -> Fut {
        (self.f)(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn endpoint_is_send_sync_clone() {
        assert_send_sync::<Endpoint<String, String>>();
        // even for a request type that is not Sync
        assert_send_sync::<Endpoint<std::cell::Cell<u8>, ()>>();
    }

    #[tokio::test]
    async fn services_with_box_errors_convert() {
        let svc = tower::service_fn(|x: u32| async move {
            if x == 0 {
                Err::<u32, tower::BoxError>("zero".into())
            } else {
                Ok(x)
            }
        });
        let ep = Endpoint::new(svc);
        assert_eq!(ep.clone().oneshot(1).await.unwrap(), 1);
        let err = ep.oneshot(0).await.unwrap_err();
        assert_eq!(err.code(), Code::Unknown);
        assert_eq!(err.message(), "zero");
    }

    #[tokio::test]
    async fn layer_boxes_a_stack() {
        let ep: Endpoint<u8, u8> = tower::ServiceBuilder::new()
            .layer(Endpoint::layer())
            .service(endpoint_fn(|x: u8| async move { Ok(x + 1) }));
        assert_eq!(ep.oneshot(1).await.unwrap(), 2);
    }
}
