#pragma once

#include <QList>
#include <QMap>
#include <QProcess>
#include <QTemporaryDir>
#include <memory>

namespace herald::test {

// A real haproxy in the foreground running packaging/haproxy/herald.cfg, with its listen
// address, stats address and backend servers replaced by free loopback ports and the given
// Herald nodes (named n1, n2, ... in order), so the shipped file is the one under test.
class HaproxyProcess {
public:
    explicit HaproxyProcess(QList<quint16> upstreamPorts);
    ~HaproxyProcess();
    HaproxyProcess(const HaproxyProcess&) = delete;
    HaproxyProcess& operator=(const HaproxyProcess&) = delete;

    // False with a readable message when haproxy is missing, rejects the file or does not listen.
    bool start(QString* error, int timeoutMs = 20000);
    void stop();

    quint16 port() const { return port_; }
    // Backend server name -> haproxy's view of it ("UP", "DOWN", "UP 1/2", ...), from the stats
    // page's CSV; empty when the page does not answer.
    QMap<QString, QString> serverStates() const;
    QString output() const; // what haproxy printed (its log goes to stdout), for failure messages

private:
    QList<quint16> upstreams_;
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
    quint16 statsPort_ = 0;
    mutable QByteArray captured_;
};

} // namespace herald::test
