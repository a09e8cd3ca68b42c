#include "tests/common/ServerProcess.h"

#include <QFile>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QTimer>

namespace herald::test {

ServerProcess::ServerProcess(QStringList extraArgs, QStringList extraEnv)
    : args_(std::move(extraArgs))
    , env_(std::move(extraEnv)) {}

ServerProcess::~ServerProcess() {
    if (process_ && process_->state() != QProcess::NotRunning)
        stop(5000);
}

QString ServerProcess::binary(const QString& name) {
    const QString dir = qEnvironmentVariable("HERALD_BIN_DIR");
    return (dir.isEmpty() ? QCoreApplication::applicationDirPath() + QStringLiteral("/../bin")
                          : dir) +
           QLatin1Char('/') + name;
}

bool ServerProcess::start(QString* error, int timeoutMs) {
    // A restart reads the new port and output, not the last run's.
    port_ = 0;
    tls_ = false;
    captured_.clear();
    process_ = std::make_unique<QProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString& entry : env_)
        env.insert(entry.section(QLatin1Char('='), 0, 0), entry.section(QLatin1Char('='), 1));
    process_->setProcessEnvironment(env);
    QStringList args{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")};
    args += args_;
    process_->start(binary(QStringLiteral("herald-server")), args);
    if (!process_->waitForStarted(timeoutMs)) {
        *error = QStringLiteral("cannot start %1: %2")
                     .arg(binary(QStringLiteral("herald-server")), process_->errorString());
        return false;
    }
    const QRegularExpression listening(
        QStringLiteral("listening on (https?)://127\\.0\\.0\\.1:(\\d+)"));
    QDeadlineTimer deadline(timeoutMs);
    while (port_ == 0 && !deadline.hasExpired()) {
        if (process_->state() == QProcess::NotRunning) {
            *error = QStringLiteral("herald-server exited early: ") + output();
            return false;
        }
        process_->waitForReadyRead(100);
        captured_ += process_->readAllStandardOutput();
        const auto match = listening.match(QString::fromUtf8(captured_));
        if (match.hasMatch()) {
            tls_ = match.captured(1) == QLatin1String("https");
            port_ = static_cast<quint16>(match.captured(2).toUInt());
        }
    }
    if (port_ == 0) {
        *error = QStringLiteral("herald-server did not report its port: ") + output();
        return false;
    }
    while (!deadline.hasExpired()) {
        if (httpGet(httpUrl(QStringLiteral("/healthz")), {}, 2000, trusted_).status == 200)
            return true;
        QEventLoop loop;
        QTimer::singleShot(50, &loop, &QEventLoop::quit);
        loop.exec();
    }
    *error = QStringLiteral("herald-server did not become healthy: ") + output();
    return false;
}

int ServerProcess::stop(int timeoutMs) {
    if (!process_ || process_->state() == QProcess::NotRunning)
        return process_ ? process_->exitCode() : -1;
    process_->terminate();
    if (process_->waitForFinished(timeoutMs))
        return process_->exitStatus() == QProcess::NormalExit ? process_->exitCode() : -1;
    process_->kill();
    process_->waitForFinished(5000);
    return -1;
}

void ServerProcess::kill() {
    if (process_ && process_->state() != QProcess::NotRunning) {
        process_->kill();
        process_->waitForFinished(5000);
    }
}

QUrl ServerProcess::httpUrl(const QString& path) const {
    return QUrl(QStringLiteral("%1://127.0.0.1:%2%3")
                    .arg(tls_ ? QLatin1String("https") : QLatin1String("http"))
                    .arg(port_)
                    .arg(path));
}

QUrl ServerProcess::wsUrl(const QString& pathAndQuery) const {
    return QUrl(QStringLiteral("%1://127.0.0.1:%2%3")
                    .arg(tls_ ? QLatin1String("wss") : QLatin1String("ws"))
                    .arg(port_)
                    .arg(pathAndQuery));
}

QString ServerProcess::output() const {
    if (process_) {
        captured_ += process_->readAllStandardOutput();
        captured_ += process_->readAllStandardError();
    }
    return QString::fromUtf8(captured_);
}

QJsonObject HttpResult::json() const {
    return QJsonDocument::fromJson(body).object();
}

namespace {
HttpResult run(const QUrl& url, const QByteArray& verb, const QByteArray& body,
               const QByteArray& bearer, int timeoutMs, const QList<QSslCertificate>& trusted) {
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    if (!trusted.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(trusted);
        request.setSslConfiguration(tls);
    }
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!bearer.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + bearer);
    QNetworkReply* reply = manager.sendCustomRequest(request, verb, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    HttpResult result;
    if (reply->isFinished()) {
        result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        result.body = reply->readAll();
    } else {
        reply->abort();
    }
    reply->deleteLater();
    return result;
}
} // namespace

HttpResult httpGet(const QUrl& url, const QByteArray& bearer, int timeoutMs,
                   const QList<QSslCertificate>& trusted) {
    return run(url, "GET", {}, bearer, timeoutMs, trusted);
}

HttpResult httpPost(const QUrl& url, const QByteArray& body, const QByteArray& bearer,
                    int timeoutMs, const QList<QSslCertificate>& trusted) {
    return run(url, "POST", body, bearer, timeoutMs, trusted);
}

HttpResult httpDelete(const QUrl& url, const QByteArray& bearer, int timeoutMs) {
    return run(url, "DELETE", {}, bearer, timeoutMs, {});
}

qint64 ServerProcess::rssKb(qint64 pid) {
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

bool clusterTotalsAre(ServerProcess& node, const QByteArray& apiToken, qint64 connections,
                      qint64 users, qint64 nodes) {
    const QJsonObject t = httpGet(node.httpUrl(QStringLiteral("/api/cluster")), apiToken)
                              .json()
                              .value(QLatin1String("totals"))
                              .toObject();
    return t.value(QLatin1String("connections")).toInteger() == connections &&
           t.value(QLatin1String("users")).toInteger() == users &&
           t.value(QLatin1String("nodes")).toInteger() == nodes;
}

} // namespace herald::test
