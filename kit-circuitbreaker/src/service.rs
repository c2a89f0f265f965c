//! The [`CircuitBreaker`] service.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use kit_endpoint::Error;
use tokio::sync::futures::OwnedNotified;
use tokio::time::{Instant, Sleep, sleep_until};
use tower_service::Service;

use crate::error::Rejected;
use crate::future::ResponseFuture;
use crate::{Breaker, ByCode, Classify, Permit, Readiness, State};

/// Guards an inner service with a [`Breaker`]. See the [crate docs](crate).
///
/// Admission is decided in `poll_ready`: the permit it takes (and, in
/// half-open, the probe slot) is held until `call` or until the service is
/// dropped. Clones share the breaker, not the permit.
pub struct CircuitBreaker<S, C = ByCode> {
    inner: S,
    breaker: Breaker,
    classify: C,
    /// The permit `poll_ready` took for the next call. A bare `Option`
    /// (its niche is the `Arc`) so the hot path moves whole words.
    permit: Option<Permit>,
    /// The refusal `poll_ready` decided for the next call, in `FailFast` mode.
    refused: Option<Rejected>,
    /// What a `Readiness::NotReady` service waits on while refused; boxed
    /// because it is rare and the service should stay small.
    wait: Option<Box<Wait>>,
}

#[derive(Default)]
struct Wait {
    notified: Option<Pin<Box<OwnedNotified>>>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<S> CircuitBreaker<S> {
    /// Guards `inner` with `breaker`, classifying results [`ByCode`].
    pub fn new(inner: S, breaker: Breaker) -> CircuitBreaker<S> {
        CircuitBreaker::with_classifier(inner, breaker, ByCode)
    }
}

impl<S, C> CircuitBreaker<S, C> {
    /// Guards `inner` with `breaker`, classifying results with `classify`.
    pub fn with_classifier(inner: S, breaker: Breaker, classify: C) -> CircuitBreaker<S, C> {
        CircuitBreaker {
            inner,
            breaker,
            classify,
            permit: None,
            refused: None,
            wait: None,
        }
    }

    /// The breaker, shared by every clone of this service.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service (a permit taken by `poll_ready` is dropped
    /// and counts nothing).
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn refuse<F>(&self, r: Rejected) -> ResponseFuture<F, C>
    where
        C: Clone,
    {
        self.breaker.count_rejection(&r);
        ResponseFuture::rejected(r.into_error(), self.classify.clone())
    }

    /// `Readiness::NotReady` while refused: register for wake-ups and
    /// return `Ready` only when admission should be tried again.
    fn poll_wait(&mut self, cx: &mut Context<'_>, r: &Rejected) -> Poll<()> {
        let wait = self.wait.get_or_insert_with(Box::default);
        let Some(notified) = &mut wait.notified else {
            // Register before the caller checks again, so that a transition
            // between that check and this registration is not missed.
            let mut n = Box::pin(self.breaker.shared.notify.clone().notified_owned());
            n.as_mut().enable();
            wait.notified = Some(n);
            return Poll::Ready(());
        };
        if notified.as_mut().poll(cx).is_ready() {
            wait.notified = None;
            return Poll::Ready(());
        }
        if r.state() != State::Open {
            wait.sleep = None;
            return Poll::Pending;
        }
        let at: Instant = self.breaker.shared.open_until();
        match &mut wait.sleep {
            Some(s) if s.deadline() == at => {}
            Some(s) => s.as_mut().reset(at),
            None => wait.sleep = Some(Box::pin(sleep_until(at))),
        }
        if let Some(s) = &mut wait.sleep
            && s.as_mut().poll(cx).is_ready()
        {
            wait.sleep = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<S, C, Req> Service<Req> for CircuitBreaker<S, C>
where
    S: Service<Req>,
    S::Error: Into<Error>,
    C: Classify<S::Response> + Clone,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.permit.is_none() {
            match self.breaker.admit() {
                Ok(permit) => {
                    self.permit = Some(permit);
                    if self.refused.is_some() || self.wait.is_some() {
                        self.refused = None;
                        self.wait = None;
                    }
                }
                Err(r) => match self.breaker.shared.config.readiness {
                    Readiness::FailFast => {
                        self.refused = Some(r);
                        return Poll::Ready(Ok(()));
                    }
                    Readiness::NotReady => {
                        if self.poll_wait(cx, &r).is_pending() {
                            return Poll::Pending;
                        }
                    }
                },
            }
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Err(e)) => {
                self.permit = None;
                Poll::Ready(Err(e.into()))
            }
            other => other.map_err(Into::into),
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let mut permit = match self.permit.take() {
            Some(p) if p.is_current() => p,
            stale_or_none => {
                if let Some(r) = self.refused.take() {
                    return self.refuse(r);
                }
                // Stale (a transition since `poll_ready`), or `poll_ready`
                // was not called: ask again.
                if let Some(stale) = stale_or_none {
                    stale.discard_stale();
                }
                match self.breaker.admit() {
                    Ok(p) => p,
                    Err(r) => return self.refuse(r),
                }
            }
        };
        permit.start_timer();
        ResponseFuture::called(self.inner.call(req), permit, self.classify.clone())
    }
}

impl<S: Clone, C: Clone> Clone for CircuitBreaker<S, C> {
    fn clone(&self) -> Self {
        CircuitBreaker::with_classifier(
            self.inner.clone(),
            self.breaker.clone(),
            self.classify.clone(),
        )
    }
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .field("classify", &self.classify)
            .field("permit", &self.permit)
            .finish_non_exhaustive()
    }
}
