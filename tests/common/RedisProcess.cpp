#include "tests/common/RedisProcess.h"

#include <csignal>

#include <QDeadlineTimer>
#include <QHostAddress>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

namespace herald::test {
namespace {

quint16 freeLoopbackPort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort(); // closed on return; redis-server takes it a moment later
}

} // namespace

RedisProcess::RedisProcess(QStringList extraArgs)
    : extraArgs_(std::move(extraArgs)) {}

RedisProcess::~RedisProcess() {
    stop();
}

QString RedisProcess::binary() {
    return QStandardPaths::findExecutable(QStringLiteral("redis-server"));
}

bool RedisProcess::isRunning() const {
    return process_ && process_->state() != QProcess::NotRunning;
}

QString RedisProcess::url(const QByteArray& password) const {
    const QString auth =
        password.isEmpty()
            ? QString()
            : QString(QLatin1Char(':') + QString::fromUtf8(password) + QLatin1Char('@'));
    return QStringLiteral("redis://") + auth + QStringLiteral("127.0.0.1:") +
           QString::number(port_);
}

QString RedisProcess::output() const {
    if (process_)
        captured_ += process_->readAll();
    return QString::fromLocal8Bit(captured_);
}

bool RedisProcess::start(QString* error, int timeoutMs) {
    if (binary().isEmpty()) {
        *error = QStringLiteral("redis-server not found: apt-get install redis-server");
        return false;
    }
    // Another process may grab the probed port before redis binds it: try a few ports.
    QString last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const quint16 port = freeLoopbackPort();
        if (port != 0 && launch(port, &last, timeoutMs))
            return true;
    }
    *error = QStringLiteral("redis-server did not start: ") + last;
    return false;
}

bool RedisProcess::restart(QString* error, int timeoutMs) {
    stop();
    // The same port, so clients reconnect to where they were; retry while it is still held.
    const QDeadlineTimer deadline(timeoutMs);
    QString last;
    while (!deadline.hasExpired()) {
        if (launch(port_, &last, static_cast<int>(deadline.remainingTime())))
            return true;
        QTest::qWait(100);
    }
    *error = QStringLiteral("redis-server did not restart on port %1: %2").arg(port_).arg(last);
    return false;
}

bool RedisProcess::launch(quint16 port, QString* error, int timeoutMs) {
    stop();
    port_ = port;
    captured_.clear();
    process_ = std::make_unique<QProcess>();
    process_->setProcessChannelMode(QProcess::MergedChannels);
    QStringList args{QStringLiteral("--port"),       QString::number(port),
                     QStringLiteral("--bind"),       QStringLiteral("127.0.0.1"),
                     QStringLiteral("--save"),       QString(),
                     QStringLiteral("--appendonly"), QStringLiteral("no"),
                     QStringLiteral("--dir"),        dir_.path()};
    args += extraArgs_;
    process_->start(binary(), args);
    if (!process_->waitForStarted(5000)) {
        *error = QStringLiteral("cannot run %1: %2").arg(binary(), process_->errorString());
        return false;
    }
    const QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        if (!isRunning()) {
            *error = QStringLiteral("redis-server exited: ") + output();
            return false;
        }
        if (answersPing(500))
            return true;
        QTest::qWait(20);
    }
    *error =
        QStringLiteral("redis-server did not answer PING on port %1: %2").arg(port).arg(output());
    stop();
    return false;
}

bool RedisProcess::answersPing(int timeoutMs) const {
    // A raw inline PING: the answer is +PONG, or -NOAUTH on a password-protected server.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port_);
    if (!QTest::qWaitFor(
            [&] {
                return socket.state() == QAbstractSocket::ConnectedState ||
                       socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs) ||
        socket.state() != QAbstractSocket::ConnectedState)
        return false;
    socket.write("PING\r\n");
    if (!QTest::qWaitFor(
            [&] {
                return socket.canReadLine() || socket.state() != QAbstractSocket::ConnectedState;
            },
            timeoutMs))
        return false;
    const QByteArray line = socket.readLine();
    return line.startsWith("+PONG") || line.startsWith("-NOAUTH");
}

void RedisProcess::stop() {
    if (!process_)
        return;
    if (isRunning()) {
        process_->kill();
        process_->waitForFinished(5000);
    }
    captured_ += process_->readAll();
}

void RedisProcess::freeze() {
    if (isRunning())
        ::kill(static_cast<pid_t>(process_->processId()), SIGSTOP);
}

void RedisProcess::thaw() {
    if (isRunning())
        ::kill(static_cast<pid_t>(process_->processId()), SIGCONT);
}

} // namespace herald::test
