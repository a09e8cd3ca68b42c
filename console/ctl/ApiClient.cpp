#include "console/ctl/ApiClient.h"

#include "shared/Version.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <memory>

namespace herald::ctl {
namespace {

// One line of text from an answer body for a message: control characters flattened, cut short.
QString snippet(const QByteArray& body) {
    QString text = QString::fromUtf8(body.left(300)).simplified();
    if (body.size() > 300 || text.size() > 200)
        text = text.left(200) + QStringLiteral("...");
    return text;
}

QString secondsText(int ms) {
    return ms % 1000 == 0 ? QString::number(ms / 1000) : QString::number(ms / 1000.0, 'g', 4);
}

} // namespace

QString describeHttpError(int status, const QByteArray& reason, const QByteArray& body) {
    const QJsonObject error =
        QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    const QString code = error.value(QLatin1String("code")).toString();
    const QString message = error.value(QLatin1String("message")).toString();
    if (!code.isEmpty())
        return QStringLiteral("%1: %2 (HTTP %3)")
            .arg(code, message.isEmpty() ? QStringLiteral("no message") : message)
            .arg(status);
    QString text = QStringLiteral("HTTP %1").arg(status);
    if (!reason.isEmpty())
        text += QLatin1Char(' ') + QString::fromUtf8(reason);
    const QString rest = snippet(body);
    if (!rest.isEmpty())
        text += QStringLiteral(": ") + rest;
    return text;
}

ApiClient::ApiClient(QUrl server, QByteArray token, int timeoutMs, QObject* parent)
    : QObject(parent)
    , server_(std::move(server))
    , token_(std::move(token))
    , timeoutMs_(timeoutMs) {
    manager_.setRedirectPolicy(QNetworkRequest::NoLessSafeRedirectPolicy);
}

void ApiClient::get(const QString& path, Done done) {
    send("GET", path, {}, std::move(done));
}

void ApiClient::post(const QString& path, const QByteArray& jsonBody, Done done) {
    send("POST", path, jsonBody, std::move(done));
}

void ApiClient::del(const QString& path, Done done) {
    send("DELETE", path, {}, std::move(done));
}

void ApiClient::send(const QByteArray& verb, const QString& path, const QByteArray& body,
                     Done done) {
    const QUrl url = urlFor(path);
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::UserAgentHeader,
                      QStringLiteral("heraldctl/%1").arg(QLatin1String(kVersion)));
    request.setRawHeader("Accept", "application/json");
    if (verb == "POST")
        request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!token_.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token_);
    QNetworkReply* reply = verb == "POST"     ? manager_.post(request, body)
                           : verb == "DELETE" ? manager_.deleteResource(request)
                                              : manager_.get(request);

    auto timedOut = std::make_shared<bool>(false);
    auto* deadline = new QTimer(reply);
    deadline->setSingleShot(true);
    connect(deadline, &QTimer::timeout, reply, [reply, timedOut] {
        *timedOut = true;
        reply->abort();
    });
    deadline->start(timeoutMs_);

    const int timeoutMs = timeoutMs_;
    connect(reply, &QNetworkReply::finished, this,
            [reply, url, timedOut, timeoutMs, done = std::move(done)] {
                reply->deleteLater();
                ApiResult result;
                result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
                if (reply->isOpen()) // an aborted reply is closed
                    result.body = reply->readAll();
                const QString where = url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery);
                if (*timedOut) {
                    result.exitCode = kExitUnreachable;
                    result.message = QStringLiteral("no answer from %1 within %2 s")
                                         .arg(where, secondsText(timeoutMs));
                } else if (result.status == 0) {
                    result.exitCode = kExitUnreachable;
                    result.message =
                        QStringLiteral("cannot reach %1: %2").arg(where, reply->errorString());
                } else if (result.status < 200 || result.status > 299) {
                    result.exitCode = kExitRefused;
                    result.message = describeHttpError(
                        result.status,
                        reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toByteArray(),
                        result.body);
                } else {
                    QJsonParseError parseError;
                    const QJsonDocument doc = QJsonDocument::fromJson(result.body, &parseError);
                    if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
                        result.exitCode = kExitRefused;
                        result.message =
                            QStringLiteral(
                                "unexpected answer from %1 (HTTP %2, not a JSON object): %3")
                                .arg(where)
                                .arg(result.status)
                                .arg(snippet(result.body));
                    } else {
                        result.json = doc.object();
                    }
                }
                done(result);
            });
}

} // namespace herald::ctl
