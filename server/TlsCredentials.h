#pragma once

#include "server/Config.h"

#include <QDateTime>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QString>
#include <variant>

namespace herald {

// The node's certificate, its chain and its private key as a server-side TLS configuration.
// Loaded whole or not at all, so a reload that fails leaves the previous one in use.
class TlsCredentials {
public:
    // Reads the files and checks what would otherwise only show at the first handshake: the key
    // belongs to the certificate, and the certificate has not expired at `now`.
    // Reads tls_cert, tls_key and tls_ca of `config`; both of the first two are needed.
    static std::variant<TlsCredentials, QString> load(const Config& config, const QDateTime& now);

    const QSslConfiguration& configuration() const { return configuration_; }
    const QSslCertificate& certificate() const { return certificate_; }
    // Subject, names, issuer, validity and fingerprint, for the log.
    QString describe() const;
    // Expires within this many days of `now`: worth a warning in the log.
    bool expiresWithin(int days, const QDateTime& now) const;

    static constexpr int kExpiryWarningDays = 14;

private:
    QSslConfiguration configuration_;
    QSslCertificate certificate_;
};

} // namespace herald
