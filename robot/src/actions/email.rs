//! `email.send` over SMTP (lettre).

use std::path::Path;

use alq_shared::workflow::{EmailSendArgs, SmtpConfig, SmtpTls, Text};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use super::file::read_regular;
use super::http::chain;
use super::{Access, ActionCtx, ActionError, ActionResult};

/// Sends one message; output `{message_id, recipients, server}`.
pub async fn send(args: &EmailSendArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let from = mailbox("from", &args.from)?;
    let mut builder = Message::builder().from(from).subject(args.subject.as_str());
    let mut recipients = 0;
    for (field, list) in [("to", &args.to), ("cc", &args.cc), ("bcc", &args.bcc)] {
        for address in list.as_slice() {
            let mailbox = mailbox(field, address)?;
            builder = match field {
                "to" => builder.to(mailbox),
                "cc" => builder.cc(mailbox),
                _ => builder.bcc(mailbox),
            };
            recipients += 1;
        }
    }
    if recipients == 0 {
        return Err(ActionError::app(
            "email.send: no recipient; give at least one address in `to`",
        ));
    }
    let builder = builder.message_id(None);

    let body = body(args.text.as_ref(), args.html.as_ref());
    let mut attachments = Vec::new();
    for attachment in &args.attachments {
        let path = ctx.path("email.send attachment", attachment.as_str(), Access::Read)?;
        attachments.push(attachment_part(&path).await?);
    }
    let message = if attachments.is_empty() {
        match body {
            Body::Single(part) => builder.singlepart(part),
            Body::Multi(part) => builder.multipart(part),
        }
    } else {
        let mixed = match body {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        builder.multipart(attachments.into_iter().fold(mixed, MultiPart::singlepart))
    }
    .map_err(|e| ActionError::app(format!("email.send: could not build the message: {e}")))?;
    let message_id = message.headers().get_raw("Message-ID").map(str::to_owned);

    let smtp = &args.smtp;
    let port = match &smtp.port {
        Some(port) => port
            .get()
            .map_err(|e| ActionError::app(format!("email.send: smtp.port: {e}")))?,
        None => match smtp.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        },
    };
    let server = format!("{}:{port}", smtp.host);
    let transport = transport(smtp, port, ctx)?;
    let response = tokio::select! {
        result = transport.send(message) => result.map_err(|e| smtp_error(&e, &server, smtp.tls))?,
        () = ctx.cancel.cancelled() => return Err(ActionError::Cancelled),
    };
    let reply = response.message().collect::<Vec<_>>().join(" ");
    Ok(json!({
        "message_id": message_id,
        "recipients": recipients,
        "server": server,
        "reply": reply,
    }))
}

/// The message body: text, HTML, or both as alternatives.
enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

fn body(text: Option<&Text>, html: Option<&Text>) -> Body {
    match (text, html) {
        (Some(text), Some(html)) => Body::Multi(MultiPart::alternative_plain_html(
            text.as_str().to_owned(),
            html.as_str().to_owned(),
        )),
        (None, Some(html)) => Body::Single(SinglePart::html(html.as_str().to_owned())),
        (text, None) => Body::Single(SinglePart::plain(
            text.map(|t| t.as_str().to_owned()).unwrap_or_default(),
        )),
    }
}

/// A file as an attachment, its content type guessed from the extension.
async fn attachment_part(path: &Path) -> Result<SinglePart, ActionError> {
    let bytes = read_regular("email.send attachment", path).await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // mime_guess only yields well-formed types; plain text is a safe last resort.
    let content_type = ContentType::parse(mime.as_ref()).unwrap_or(ContentType::TEXT_PLAIN);
    Ok(Attachment::new(name).body(bytes, content_type))
}

fn mailbox(field: &str, address: &Text) -> Result<Mailbox, ActionError> {
    address.as_str().trim().parse().map_err(|e| {
        ActionError::app(format!(
            "email.send: `{field}` address {:?} is not a valid email address ({e}); write it as \
             `name@example.com` or `Name <name@example.com>`",
            address.as_str()
        ))
    })
}

fn transport(
    smtp: &SmtpConfig,
    port: u16,
    ctx: &ActionCtx<'_>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, ActionError> {
    let host = smtp.host.as_str();
    let tls = match smtp.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls | SmtpTls::Tls => {
            let params = TlsParameters::new(host.to_owned()).map_err(|e| {
                ActionError::app(format!(
                    "email.send: could not set up TLS for {host}: {}",
                    chain(&e)
                ))
            })?;
            if smtp.tls == SmtpTls::Tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(ctx.timeout));
    if let Some(username) = &smtp.username {
        let password = smtp
            .password
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.as_str().to_owned(), password));
    }
    Ok(builder.build())
}

/// The message for a failed delivery. lettre's errors never hold the password.
fn smtp_error(error: &lettre::transport::smtp::Error, server: &str, tls: SmtpTls) -> ActionError {
    let tls = match tls {
        SmtpTls::None => "tls none",
        SmtpTls::Starttls => "tls starttls",
        SmtpTls::Tls => "tls tls",
    };
    let detail = chain(error);
    let hint = if detail.contains("STARTTLS is not supported") {
        "the server does not offer STARTTLS: use `tls: tls` if it expects TLS from the start, \
         or `tls: none` for a trusted local relay"
    } else if error.is_permanent() {
        "the server refused the message; check the addresses and the login"
    } else if error.is_tls() {
        "check `smtp.tls`: port 465 usually wants `tls`, port 587 `starttls`"
    } else if error.is_timeout() {
        "check the host and port, or raise the step's timeout_ms"
    } else {
        "check `smtp.host`, `smtp.port` and `smtp.tls`, and that the server is running"
    };
    ActionError::app(format!(
        "email.send: could not send through SMTP server {server} ({tls}): {detail}; {hint}"
    ))
}
