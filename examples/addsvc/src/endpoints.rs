//! Endpoints: one request/response operation per service method, and the
//! [`Set`] that holds them, as Go kit's `addendpoint` package.
//!
//! Go kit: `pkg/addendpoint/set.go`. As there, business errors travel in the
//! response (`err`), so the endpoint's own error channel carries only
//! infrastructure failures; and the `Set` implements the service, which
//! turns any transport's client endpoints into a `Service`.

use kit_endpoint::{Endpoint, Error, Request, endpoint_fn};
use tower::ServiceExt;

use crate::service::{Service, ServiceError};

/// Sum's request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SumRequest {
    /// First operand.
    pub a: i64,
    /// Second operand.
    pub b: i64,
}

/// Sum's response: the value, or the business error.
#[derive(Debug, PartialEq)]
pub struct SumResponse {
    /// The sum (0 when `err` is set).
    pub v: i64,
    /// The business error, if any.
    pub err: Option<ServiceError>,
}

/// Concat's request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConcatRequest {
    /// First string.
    pub a: String,
    /// Second string.
    pub b: String,
}

/// Concat's response: the value, or the business error.
#[derive(Debug, PartialEq)]
pub struct ConcatResponse {
    /// The concatenation (empty when `err` is set).
    pub v: String,
    /// The business error, if any.
    pub err: Option<ServiceError>,
}

/// The Sum endpoint.
pub type SumEndpoint = Endpoint<Request<SumRequest>, SumResponse>;
/// The Concat endpoint.
pub type ConcatEndpoint = Endpoint<Request<ConcatRequest>, ConcatResponse>;

/// The Sum endpoint of a service.
pub fn make_sum_endpoint<S: Service + Clone + 'static>(svc: S) -> SumEndpoint {
    Endpoint::new(endpoint_fn(move |req: Request<SumRequest>| {
        let svc = svc.clone();
        async move {
            let SumRequest { a, b } = req.body;
            Ok::<_, Error>(match svc.sum(a, b).await {
                Ok(v) => SumResponse { v, err: None },
                Err(ServiceError::Transport(e)) => return Err(e),
                Err(e) => SumResponse { v: 0, err: Some(e) },
            })
        }
    }))
}

/// The Concat endpoint of a service.
pub fn make_concat_endpoint<S: Service + Clone + 'static>(svc: S) -> ConcatEndpoint {
    Endpoint::new(endpoint_fn(move |req: Request<ConcatRequest>| {
        let svc = svc.clone();
        async move {
            let ConcatRequest { a, b } = req.body;
            Ok::<_, Error>(match svc.concat(&a, &b).await {
                Ok(v) => ConcatResponse { v, err: None },
                Err(ServiceError::Transport(e)) => return Err(e),
                Err(e) => ConcatResponse {
                    v: String::new(),
                    err: Some(e),
                },
            })
        }
    }))
}

/// Every endpoint of the service: what transports serve, and, built from
/// client endpoints, a client that implements [`Service`].
#[derive(Clone, Debug)]
pub struct Set {
    /// Sum.
    pub sum: SumEndpoint,
    /// Concat.
    pub concat: ConcatEndpoint,
}

impl Set {
    /// The endpoints of a service, with no middleware.
    pub fn new<S: Service + Clone + 'static>(svc: S) -> Set {
        Set {
            sum: make_sum_endpoint(svc.clone()),
            concat: make_concat_endpoint(svc),
        }
    }
}

impl Service for Set {
    async fn sum(&self, a: i64, b: i64) -> Result<i64, ServiceError> {
        let resp = self
            .sum
            .clone()
            .oneshot(Request::new(SumRequest { a, b }))
            .await
            .map_err(ServiceError::Transport)?;
        match resp.err {
            Some(e) => Err(e),
            None => Ok(resp.v),
        }
    }

    async fn concat(&self, a: &str, b: &str) -> Result<String, ServiceError> {
        let req = ConcatRequest {
            a: a.to_owned(),
            b: b.to_owned(),
        };
        let resp = self
            .concat
            .clone()
            .oneshot(Request::new(req))
            .await
            .map_err(ServiceError::Transport)?;
        match resp.err {
            Some(e) => Err(e),
            None => Ok(resp.v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::BasicService;

    #[tokio::test]
    async fn a_set_of_endpoints_is_a_service() {
        let set = Set::new(BasicService);
        assert_eq!(set.sum(1, 2).await, Ok(3));
        assert_eq!(set.sum(0, 0).await, Err(ServiceError::TwoZeroes));
        assert_eq!(set.concat("a", "b").await.as_deref(), Ok("ab"));
        // and a set over a set still is
        let wrapped = Set::new(set);
        assert_eq!(
            wrapped.concat("abcdef", "ghijk").await,
            Err(ServiceError::MaxSizeExceeded)
        );
    }

    #[tokio::test]
    async fn business_errors_stay_in_the_response() {
        let resp = make_sum_endpoint(BasicService)
            .oneshot(Request::new(SumRequest { a: 0, b: 0 }))
            .await
            .expect("a business error is not an endpoint error");
        assert_eq!(
            resp,
            SumResponse {
                v: 0,
                err: Some(ServiceError::TwoZeroes)
            }
        );
    }
}
