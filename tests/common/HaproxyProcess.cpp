#include "tests/common/HaproxyProcess.h"

#include "tests/common/NginxProcess.h"
#include "tests/common/ServerProcess.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTcpSocket>
#include <QUrl>

namespace herald::test {
namespace {

// The shipped file's lines the test replaces; start() fails if one of them is gone, so a change
// of the file's shape is noticed instead of silently testing something else.
const QRegularExpression kFrontendBind(QStringLiteral("\\n    bind \\*:8080\\n"));
const QRegularExpression kStatsBind(QStringLiteral("\\n    bind 127\\.0\\.0\\.1:8404\\n"));
const QRegularExpression
    kServers(QStringLiteral("(\\n    server \\S+ 127\\.0\\.0\\.1:\\d+[^\\n]*)+"));

} // namespace

HaproxyProcess::HaproxyProcess(QList<quint16> upstreamPorts)
    : upstreams_(std::move(upstreamPorts)) {}

HaproxyProcess::~HaproxyProcess() {
    stop();
}

bool HaproxyProcess::start(QString* error, int timeoutMs) {
    QString haproxy = QStandardPaths::findExecutable(QStringLiteral("haproxy"));
    if (haproxy.isEmpty())
        haproxy = QStandardPaths::findExecutable(QStringLiteral("haproxy"),
                                                 {QStringLiteral("/usr/sbin")});
    if (haproxy.isEmpty()) {
        *error = QStringLiteral(
            "haproxy not found: apt-get install haproxy (packaging/bootstrap.sh test does)");
        return false;
    }
    QFile shipped(qEnvironmentVariable("HERALD_SOURCE_DIR") +
                  QStringLiteral("/packaging/haproxy/herald.cfg"));
    if (!shipped.open(QIODevice::ReadOnly)) {
        *error =
            QStringLiteral("cannot read packaging/haproxy/herald.cfg (HERALD_SOURCE_DIR unset?)");
        return false;
    }
    const QString original = QString::fromUtf8(shipped.readAll());
    for (const QRegularExpression* line : {&kFrontendBind, &kStatsBind, &kServers}) {
        if (!original.contains(*line)) {
            *error = QStringLiteral("packaging/haproxy/herald.cfg has no line matching %1: "
                                    "update HaproxyProcess with the file")
                         .arg(line->pattern());
            return false;
        }
    }
    QString servers;
    for (qsizetype i = 0; i < upstreams_.size(); ++i)
        servers += QStringLiteral("\n    server n%1 127.0.0.1:%2").arg(i + 1).arg(upstreams_[i]);

    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = freeLoopbackPort();
        statsPort_ = freeLoopbackPort();
        QString conf = original;
        conf.replace(kFrontendBind, QStringLiteral("\n    bind 127.0.0.1:%1\n").arg(port_));
        conf.replace(kStatsBind, QStringLiteral("\n    bind 127.0.0.1:%1\n").arg(statsPort_));
        conf.replace(kServers, servers);
        QFile file(dir_.path() + QStringLiteral("/haproxy.cfg"));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            *error = QStringLiteral("cannot write haproxy.cfg");
            return false;
        }
        file.write(conf.toUtf8());
        file.close();
        captured_.clear();
        process_ = std::make_unique<QProcess>();
        process_->setProcessChannelMode(QProcess::MergedChannels);
        // -db: stay in the foreground, so stop() and the test's end take haproxy with them.
        process_->start(haproxy, {QStringLiteral("-db"), QStringLiteral("-f"), file.fileName()});
        QDeadlineTimer deadline(timeoutMs);
        while (!deadline.hasExpired() && process_->state() != QProcess::NotRunning) {
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, port_);
            if (probe.waitForConnected(200) && !serverStates().isEmpty())
                return true;
            process_->waitForFinished(50);
        }
        *error = QStringLiteral("haproxy did not start: ") + output();
        stop();
        if (!error->contains(QLatin1String("Address already in use")))
            return false;
    }
    return false;
}

void HaproxyProcess::stop() {
    if (process_ && process_->state() != QProcess::NotRunning) {
        process_->terminate();
        if (!process_->waitForFinished(5000)) {
            process_->kill();
            process_->waitForFinished(5000);
        }
    }
}

QMap<QString, QString> HaproxyProcess::serverStates() const {
    QMap<QString, QString> states;
    const HttpResult r =
        httpGet(QUrl(QStringLiteral("http://127.0.0.1:%1/stats;csv").arg(statsPort_)), {}, 3000);
    if (r.status != 200)
        return states;
    // "# pxname,svname,qcur,...,status,...": find the column, then one row per server.
    const QList<QByteArray> lines = r.body.split('\n');
    if (lines.isEmpty())
        return states;
    const QList<QByteArray> header = lines.first().mid(2).split(',');
    const qsizetype status = header.indexOf("status");
    const qsizetype type = header.indexOf("type");
    for (const QByteArray& line : lines.mid(1)) {
        const QList<QByteArray> cells = line.split(',');
        if (status < 0 || type < 0 || cells.size() <= std::max(status, type))
            continue;
        if (cells[0] == "herald_nodes" && cells[type] == "2") // 2: a server row
            states.insert(QString::fromLatin1(cells[1]), QString::fromLatin1(cells[status]));
    }
    return states;
}

QString HaproxyProcess::output() const {
    if (process_)
        captured_ += process_->readAll();
    return QString::fromUtf8(captured_);
}

} // namespace herald::test
