//! Every route, wired in one place. The same function lists the routes for the OpenAPI sync
//! test, so the list cannot drift from what is served.

use crate::attachments::MAX_ATTACHMENT_BYTES;
use crate::console;
use crate::error::ApiError;
use crate::extract::{MAX_BODY_BYTES, MAX_IMPORT_BYTES};
use crate::handlers::{
    alerts, assignments, attachments, audits, auth, challenges, decisions, exports, health,
    households, ledger, lifecycle, pairings, people, records, roster_import, roster_lists,
    spot_checks, supervision, units, webhooks,
};

/// A batch of 500 records, each up to a 10,000-character log, fits.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
use actix_web::http::Method;
use actix_web::{web, Handler, HttpRequest, Responder};

/// A route as the OpenAPI document names it: method in lower case, path with `{param}`s.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteInfo {
    pub method: String,
    pub path: String,
}

struct Routes<'a> {
    cfg: &'a mut web::ServiceConfig,
    seen: &'a mut Vec<RouteInfo>,
}

impl Routes<'_> {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, body_limit: usize, handler: F)
    where
        F: Handler<Args>,
        Args: actix_web::FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.seen.push(RouteInfo {
            method: method.as_str().to_lowercase(),
            // A tail match ({path:.*}) is a plain parameter to OpenAPI.
            path: path.replace(":.*}", "}"),
        });
        self.cfg.service(
            web::resource(path)
                .guard(actix_web::guard::Method(method.clone()))
                .app_data(web::PayloadConfig::new(body_limit))
                .route(web::method(method).to(handler)),
        );
    }
}

pub fn configure(cfg: &mut web::ServiceConfig, seen: &mut Vec<RouteInfo>) {
    let mut r = Routes { cfg, seen };
    let body = MAX_BODY_BYTES;
    r.add(Method::GET, "/healthz", body, health::healthz);
    r.add(Method::POST, "/v1/auth/login", body, auth::login);
    r.add(
        Method::POST,
        "/v1/units/import",
        MAX_IMPORT_BYTES,
        units::import,
    );
    r.add(Method::GET, "/v1/units/{code}", body, units::get);
    r.add(
        Method::GET,
        "/v1/units/{code}/children",
        body,
        units::children,
    );
    r.add(Method::POST, "/v1/people", body, people::create);
    r.add(Method::GET, "/v1/people/{id}", body, people::get);
    r.add(
        Method::GET,
        "/v1/people/{id}/assignments",
        body,
        people::assignments,
    );
    r.add(
        Method::GET,
        "/v1/people/{id}/records",
        body,
        people::records,
    );
    r.add(Method::POST, "/v1/assignments", body, assignments::create);
    r.add(Method::POST, "/v1/households", body, households::create);
    r.add(Method::POST, "/v1/records", body, records::create);
    r.add(
        Method::POST,
        "/v1/records/batch",
        MAX_BATCH_BYTES,
        records::batch,
    );
    r.add(Method::GET, "/v1/records/{id}", body, records::get);
    r.add(
        Method::POST,
        "/v1/leave/{id}/decision",
        body,
        decisions::leave,
    );
    r.add(
        Method::POST,
        "/v1/trips/{id}/decision",
        body,
        decisions::trip,
    );
    r.add(
        Method::POST,
        "/v1/corrections/{id}/decision",
        body,
        decisions::correction,
    );
    r.add(
        Method::POST,
        "/v1/disputes/{id}/decision",
        body,
        decisions::dispute,
    );
    r.add(
        Method::POST,
        "/v1/attachments",
        MAX_ATTACHMENT_BYTES,
        attachments::upload,
    );
    r.add(
        Method::GET,
        "/v1/attachments/{sha256}",
        body,
        attachments::download,
    );
    r.add(Method::POST, "/v1/pairings", body, pairings::create);
    r.add(
        Method::GET,
        "/v1/units/{code}/policy",
        body,
        units::get_policy,
    );
    r.add(
        Method::PUT,
        "/v1/units/{code}/policy",
        body,
        units::put_policy,
    );
    r.add(
        Method::GET,
        "/v1/people/{id}/pairings",
        body,
        people::pairings,
    );
    r.add(
        Method::GET,
        "/v1/people/{id}/presence",
        body,
        people::presence,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/records/export",
        body,
        exports::export,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/compliance",
        body,
        supervision::compliance::compliance,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/bulletin",
        body,
        supervision::bulletin::bulletin,
    );
    r.add(
        Method::POST,
        "/v1/units/{code}/bulletins/{month}/publish",
        body,
        supervision::bulletin::publish,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/bulletins/{month}",
        body,
        supervision::bulletin::published,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/negative-items",
        body,
        supervision::negative::list,
    );
    r.add(
        Method::POST,
        "/v1/negative-items/{id}/decision",
        body,
        supervision::negative::decide,
    );
    r.add(
        Method::POST,
        "/v1/people/{id}/escalation-actions",
        body,
        supervision::negative::record_action,
    );
    r.add(
        Method::GET,
        "/v1/people/{id}/archive",
        body,
        supervision::archive::archive,
    );
    r.add(
        Method::PUT,
        "/v1/people/{id}/device",
        body,
        people::bind_device,
    );
    r.add(
        Method::GET,
        "/v1/ledger/checkpoint",
        body,
        ledger::checkpoint,
    );
    r.add(
        Method::GET,
        "/v1/ledger/checkpoints/{size}",
        body,
        ledger::checkpoint_at,
    );
    r.add(Method::GET, "/v1/ledger/key", body, ledger::key);
    r.add(
        Method::GET,
        "/v1/ledger/proof/inclusion",
        body,
        ledger::inclusion,
    );
    r.add(
        Method::GET,
        "/v1/ledger/proof/consistency",
        body,
        ledger::consistency,
    );
    r.add(Method::GET, "/v1/ledger/entries", body, ledger::entries);
    r.add(
        Method::POST,
        "/v1/spot-checks/draws",
        body,
        spot_checks::create_draw,
    );
    r.add(
        Method::GET,
        "/v1/spot-checks/draws",
        body,
        spot_checks::list_draws,
    );
    r.add(
        Method::GET,
        "/v1/spot-checks/draws/{id}",
        body,
        spot_checks::get_draw,
    );
    r.add(
        Method::POST,
        "/v1/spot-checks/outcomes",
        body,
        spot_checks::record_outcome,
    );
    r.add(
        Method::POST,
        "/v1/spot-checks/households/{id}/verifications",
        body,
        spot_checks::verify_household,
    );
    r.add(Method::GET, "/v1/me/challenges", body, challenges::mine);
    r.add(Method::GET, "/v1/me/readers", body, audits::my_readers);
    r.add(Method::GET, "/v1/audit/reads", body, audits::reads);
    r.add(
        Method::POST,
        "/v1/challenges/{id}/responses",
        body,
        challenges::respond,
    );
    r.add(Method::GET, "/v1/alerts", body, alerts::list);
    r.add(Method::POST, "/v1/alerts/{id}/ack", body, alerts::ack);
    r.add(Method::POST, "/v1/webhooks", body, webhooks::create);
    r.add(Method::GET, "/v1/webhooks", body, webhooks::list);
    r.add(Method::DELETE, "/v1/webhooks/{id}", body, webhooks::delete);
    r.add(
        Method::GET,
        "/v1/webhooks/{id}/deliveries",
        body,
        webhooks::deliveries,
    );
    r.add(Method::POST, "/v1/auth/logout", body, auth::logout);
    r.add(
        Method::POST,
        "/v1/me/password",
        body,
        auth::change_own_password,
    );
    r.add(Method::GET, "/v1/people", body, roster_lists::people);
    r.add(Method::GET, "/v1/units", body, roster_lists::units);
    r.add(
        Method::GET,
        "/v1/units/{code}/households",
        body,
        roster_lists::households,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/assignments",
        body,
        roster_lists::assignments,
    );
    r.add(
        Method::GET,
        "/v1/units/{code}/pairings",
        body,
        roster_lists::pairings,
    );
    r.add(
        Method::POST,
        "/v1/assignments/{id}/end",
        body,
        lifecycle::end_assignment,
    );
    r.add(
        Method::POST,
        "/v1/pairings/{id}/end",
        body,
        lifecycle::end_pairing,
    );
    r.add(
        Method::POST,
        "/v1/people/{id}/deactivate",
        body,
        lifecycle::deactivate,
    );
    r.add(
        Method::POST,
        "/v1/people/{id}/reactivate",
        body,
        lifecycle::reactivate,
    );
    r.add(
        Method::POST,
        "/v1/people/{id}/password",
        body,
        lifecycle::reset_password,
    );
    r.add(
        Method::POST,
        "/v1/roster/import",
        MAX_IMPORT_BYTES,
        roster_import::import,
    );
    r.add(
        Method::GET,
        "/v1/roster/template",
        body,
        roster_import::template,
    );
    r.add(Method::GET, "/", body, console::index);
    r.add(Method::GET, "/assets/{path:.*}", body, console::asset);
    r.cfg.default_service(web::to(no_route));
}

/// A path no route serves (404), or one served with other methods (405 with `Allow`).
async fn no_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    static ROUTES: std::sync::OnceLock<Vec<(String, actix_web::dev::ResourceDef)>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        route_table()
            .into_iter()
            .map(|route| {
                let pattern = route.path.replace("/assets/{path}", "/assets/{path:.*}");
                (
                    route.method.to_uppercase(),
                    actix_web::dev::ResourceDef::new(pattern),
                )
            })
            .collect()
    });
    let mut allow: Vec<String> = routes
        .iter()
        .filter(|(_, def)| def.is_match(req.path()))
        .map(|(method, _)| method.clone())
        .collect();
    let route = format!("{} {}", req.method(), req.path());
    if allow.is_empty() {
        return Err(ApiError::NoRoute(route));
    }
    allow.sort();
    allow.dedup();
    Err(ApiError::MethodNotAllowed { route, allow })
}

/// The routes the app serves, for the OpenAPI sync test and the docs.
pub fn route_table() -> Vec<RouteInfo> {
    let mut seen = Vec::new();
    let _app = actix_web::App::new().configure(|cfg| configure(cfg, &mut seen));
    seen.sort();
    seen
}
