#pragma once

#include "console/ctl/CtlOptions.h"

#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QObject>
#include <functional>

// One HTTP call to the server's API at a time, driven by the event loop, with a deadline.
namespace herald::ctl {

struct ApiResult {
    int exitCode = kExitOk; // kExitOk, kExitRefused or kExitUnreachable
    int status = 0;         // HTTP status; 0 when there was no answer
    QJsonObject json;       // the parsed answer (success or the error object's parent)
    QByteArray body;        // the raw answer
    QString message;        // for failures: what to print after "heraldctl: "
};

class ApiClient : public QObject {
    Q_OBJECT
public:
    using Done = std::function<void(const ApiResult&)>;

    ApiClient(QUrl server, QByteArray token, int timeoutMs, QObject* parent = nullptr);

    void get(const QString& path, Done done);
    void post(const QString& path, const QByteArray& jsonBody, Done done);
    void del(const QString& path, Done done);

    QUrl urlFor(const QString& path) const { return serverurl::api(server_, path); }

private:
    void send(const QByteArray& verb, const QString& path, const QByteArray& body, Done done);

    QNetworkAccessManager manager_;
    QUrl server_;
    QByteArray token_;
    int timeoutMs_;
};

// "code: message (HTTP status)" from {"error": {"code", "message"}}, or a description of an
// answer that is not such an object.
QString describeHttpError(int status, const QByteArray& reason, const QByteArray& body);

} // namespace herald::ctl
