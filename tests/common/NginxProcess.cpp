#include "tests/common/NginxProcess.h"

#include "tests/common/ServerProcess.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>

namespace herald::test {

quint16 freeLoopbackPort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

QByteArray NginxProcess::errorLog() const {
    QFile log(dir_.path() + QStringLiteral("/error.log"));
    return log.open(QIODevice::ReadOnly) ? log.readAll() : QByteArray();
}

NginxProcess::NginxProcess(QList<quint16> upstreamPorts)
    : upstreams_(std::move(upstreamPorts)) {}

NginxProcess::~NginxProcess() {
    stop();
}

bool NginxProcess::start(QString* error, int timeoutMs) {
    QString nginx = QStandardPaths::findExecutable(QStringLiteral("nginx"));
    if (nginx.isEmpty())
        nginx =
            QStandardPaths::findExecutable(QStringLiteral("nginx"), {QStringLiteral("/usr/sbin")});
    if (nginx.isEmpty()) {
        *error = QStringLiteral(
            "nginx not found: apt-get install nginx-light (packaging/bootstrap.sh test does)");
        return false;
    }
    // The server block is the shipped one, with the listen port and upstreams replaced.
    QFile shipped(qEnvironmentVariable("HERALD_SOURCE_DIR") +
                  QStringLiteral("/packaging/nginx/herald.conf"));
    if (!shipped.open(QIODevice::ReadOnly)) {
        *error =
            QStringLiteral("cannot read packaging/nginx/herald.conf (HERALD_SOURCE_DIR unset?)");
        return false;
    }
    QString site = QString::fromUtf8(shipped.readAll());
    QString servers;
    for (quint16 p : std::as_const(upstreams_))
        servers += QStringLiteral("    server 127.0.0.1:%1 max_fails=3 fail_timeout=10s;\n").arg(p);
    site.replace(QRegularExpression(QStringLiteral("(    server 127\\.0\\.0\\.1:\\d+[^\\n]*\\n)+")),
                 servers);
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = freeLoopbackPort();
        QString conf = site;
        conf.replace(QStringLiteral("listen 80;"),
                     QStringLiteral("listen 127.0.0.1:%1;").arg(port_));
        const QString d = dir_.path();
        QFile file(d + QStringLiteral("/nginx.conf"));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            *error = QStringLiteral("cannot write nginx.conf");
            return false;
        }
        file.write(
            QStringLiteral("worker_processes 1;\npid %1/nginx.pid;\nerror_log %1/error.log warn;\n"
                           "events { worker_connections 4096; }\n"
                           "http {\n access_log off;\n client_body_temp_path %1/body;\n "
                           "proxy_temp_path %1/proxy;\n"
                           " fastcgi_temp_path %1/fcgi;\n uwsgi_temp_path %1/uwsgi;\n "
                           "scgi_temp_path %1/scgi;\n%2\n}\n")
                .arg(d, conf)
                .toUtf8());
        file.close();
        process_ = std::make_unique<QProcess>();
        process_->setProcessChannelMode(QProcess::MergedChannels);
        process_->start(nginx, {QStringLiteral("-p"), d, QStringLiteral("-c"),
                                d + QStringLiteral("/nginx.conf"), QStringLiteral("-g"),
                                QStringLiteral("daemon off;")});
        QDeadlineTimer deadline(timeoutMs);
        while (!deadline.hasExpired() && process_->state() != QProcess::NotRunning) {
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, port_);
            if (probe.waitForConnected(200))
                return true;
            process_->waitForFinished(50);
        }
        QFile log(d + QStringLiteral("/error.log"));
        log.open(QIODevice::ReadOnly);
        *error = QStringLiteral("nginx did not start: %1 %2")
                     .arg(QString::fromUtf8(process_->readAll()), QString::fromUtf8(log.readAll()));
        stop();
        if (!error->contains(QLatin1String("Address already in use")))
            return false;
    }
    return false;
}

void NginxProcess::stop() {
    if (process_ && process_->state() != QProcess::NotRunning) {
        process_->terminate();
        if (!process_->waitForFinished(5000)) {
            process_->kill();
            process_->waitForFinished(5000);
        }
    }
}

} // namespace herald::test
