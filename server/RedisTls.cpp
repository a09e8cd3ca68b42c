#include "server/RedisTls.h"

#include <QFile>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>

namespace herald {
namespace {

std::variant<QByteArray, QString> readFile(const QString& what, const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read the TLS %1 file \"%2\": %3")
            .arg(what, path, file.errorString());
    return file.readAll();
}

std::variant<QList<QSslCertificate>, QString> readCertificates(const QString& what,
                                                               const QString& path) {
    auto data = readFile(what, path);
    if (const auto* error = std::get_if<QString>(&data))
        return *error;
    const QList<QSslCertificate> certificates =
        QSslCertificate::fromData(std::get<QByteArray>(data), QSsl::Pem);
    if (certificates.isEmpty())
        return QStringLiteral("the TLS %1 file \"%2\" holds no PEM certificate").arg(what, path);
    return certificates;
}

} // namespace

std::variant<QSslConfiguration, QString> redisTlsConfiguration(const RedisUrl& url) {
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setPeerVerifyMode(url.verifyPeer ? QSslSocket::VerifyPeer : QSslSocket::VerifyNone);
    if (!url.caFile.isEmpty()) {
        auto cas = readCertificates(QStringLiteral("CA"), url.caFile);
        if (const auto* error = std::get_if<QString>(&cas))
            return *error;
        config.setCaCertificates(std::get<QList<QSslCertificate>>(cas));
    }
    if (!url.certFile.isEmpty()) {
        auto chain = readCertificates(QStringLiteral("client certificate"), url.certFile);
        if (const auto* error = std::get_if<QString>(&chain))
            return *error;
        auto pem = readFile(QStringLiteral("client key"), url.keyFile);
        if (const auto* error = std::get_if<QString>(&pem))
            return *error;
        // A PEM key does not say its algorithm to Qt: try the ones Redis deployments use.
        QSslKey key;
        for (const QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
            key = QSslKey(std::get<QByteArray>(pem), algorithm, QSsl::Pem, QSsl::PrivateKey);
            if (!key.isNull())
                break;
        }
        if (key.isNull())
            return QStringLiteral("the TLS client key file \"%1\" holds no unencrypted PEM "
                                  "private key (RSA, EC or DSA)")
                .arg(url.keyFile);
        config.setLocalCertificateChain(std::get<QList<QSslCertificate>>(chain));
        config.setPrivateKey(key);
    }
    return config;
}

} // namespace herald
