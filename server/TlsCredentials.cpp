#include "server/TlsCredentials.h"

#include <QFile>
#include <QSslKey>
#include <QSslSocket>
#include <memory>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace herald {
namespace {

constexpr qint64 kMaxPemBytes = 1024 * 1024;

std::variant<QByteArray, QString> readPem(const QString& path, const char* what) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read %1 \"%2\": %3")
            .arg(QLatin1String(what), path, file.errorString());
    QByteArray data = file.read(kMaxPemBytes + 1);
    if (data.size() > kMaxPemBytes)
        return QStringLiteral("%1 \"%2\" is larger than 1 MB").arg(QLatin1String(what), path);
    return data;
}

std::variant<QList<QSslCertificate>, QString> readCertificates(const QString& path,
                                                               const char* what) {
    auto pem = readPem(path, what);
    if (auto* error = std::get_if<QString>(&pem))
        return *error;
    QList<QSslCertificate> certificates =
        QSslCertificate::fromData(std::get<QByteArray>(pem), QSsl::Pem);
    if (certificates.isEmpty() || certificates.first().isNull())
        return QStringLiteral("%1 \"%2\" holds no PEM certificate").arg(QLatin1String(what), path);
    return certificates;
}

// OpenSSL's reason for the last failure, and an empty error queue afterwards: Qt's TLS code
// reads the same per-thread queue during handshakes.
QString takeOpenSslError() {
    char text[256] = {};
    const unsigned long code = ERR_peek_last_error();
    if (code != 0)
        ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return code != 0 ? QString::fromLatin1(text) : QStringLiteral("unknown error");
}

// Refuses to ask for a passphrase: without this OpenSSL would prompt on the terminal.
int noPassphrase(char*, int, int, void*) {
    return -1;
}

struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

// Parsed with OpenSSL rather than QSslKey: it takes every key type and format a certificate
// tool writes (PKCS#8, traditional RSA/EC) without being told the algorithm, and it can check
// the key against the certificate. Qt's own backend is OpenSSL, so the handle is what it uses.
std::variant<QSslKey, QString> readKey(const QString& path, const QSslCertificate& certificate) {
    auto pem = readPem(path, "tls_key");
    if (auto* error = std::get_if<QString>(&pem))
        return *error;
    const QByteArray& data = std::get<QByteArray>(pem);
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(data.constData(), int(data.size())));
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
    if (!key)
        return QStringLiteral("tls_key \"%1\" holds no usable PEM private key (an encrypted key "
                              "is not supported): %2")
            .arg(path, takeOpenSslError());
    auto* x509 = static_cast<X509*>(certificate.handle());
    if (!x509 || X509_check_private_key(x509, key.get()) != 1) {
        takeOpenSslError();
        return QStringLiteral("tls_key \"%1\" is not the private key of the certificate in "
                              "tls_cert")
            .arg(path);
    }
    ERR_clear_error();
    QSslKey sslKey(reinterpret_cast<Qt::HANDLE>(key.release()), QSsl::PrivateKey);
    if (sslKey.isNull())
        return QStringLiteral("tls_key \"%1\": Qt cannot use this key type").arg(path);
    return sslKey;
}

} // namespace

std::variant<TlsCredentials, QString> TlsCredentials::load(const Config& config,
                                                           const QDateTime& now) {
    if (config.tlsCert.isEmpty() || config.tlsKey.isEmpty())
        return QStringLiteral("TLS needs both tls_cert and tls_key (tls_ca only adds a chain)");
    if (!QSslSocket::supportsSsl() || QSslSocket::activeBackend() != QLatin1String("openssl"))
        return QStringLiteral("TLS needs Qt's OpenSSL backend (active backend: \"%1\")")
            .arg(QSslSocket::activeBackend());
    auto certificates = readCertificates(config.tlsCert, "tls_cert");
    if (auto* error = std::get_if<QString>(&certificates))
        return *error;
    QList<QSslCertificate> chain = std::get<QList<QSslCertificate>>(std::move(certificates));
    if (!config.tlsChain.isEmpty()) {
        auto extra = readCertificates(config.tlsChain, "tls_ca");
        if (auto* error = std::get_if<QString>(&extra))
            return *error;
        chain += std::get<QList<QSslCertificate>>(extra);
    }
    TlsCredentials credentials;
    credentials.certificate_ = chain.first();
    if (credentials.certificate_.expiryDate() <= now)
        return QStringLiteral("the certificate in tls_cert \"%1\" expired on %2")
            .arg(config.tlsCert, credentials.certificate_.expiryDate().toString(Qt::ISODate));
    auto key = readKey(config.tlsKey, credentials.certificate_);
    if (auto* error = std::get_if<QString>(&key))
        return *error;

    QSslConfiguration& c = credentials.configuration_;
    c = QSslConfiguration::defaultConfiguration();
    c.setProtocol(QSsl::TlsV1_2OrLater);
    // Clients are not asked for certificates; their credentials are tokens.
    c.setPeerVerifyMode(QSslSocket::VerifyNone);
    c.setCaCertificates({});
    c.setLocalCertificateChain(chain);
    c.setPrivateKey(std::get<QSslKey>(std::move(key)));
    return credentials;
}

QString TlsCredentials::describe() const {
    QStringList names;
    const auto alternatives = certificate_.subjectAlternativeNames();
    for (auto it = alternatives.cbegin(); it != alternatives.cend(); ++it)
        names.append((it.key() == QSsl::DnsEntry         ? QStringLiteral("DNS:")
                      : it.key() == QSsl::IpAddressEntry ? QStringLiteral("IP:")
                                                         : QStringLiteral("email:")) +
                     it.value());
    return QStringLiteral("subject \"%1\"%2, issuer \"%3\", valid %4 to %5, sha256 %6")
        .arg(certificate_.subjectDisplayName(),
             names.isEmpty()
                 ? QString()
                 : QStringLiteral(" (") + names.join(QLatin1String(", ")) + QLatin1Char(')'),
             certificate_.issuerDisplayName(),
             certificate_.effectiveDate().toUTC().toString(Qt::ISODate),
             certificate_.expiryDate().toUTC().toString(Qt::ISODate),
             QString::fromLatin1(certificate_.digest(QCryptographicHash::Sha256).toHex()));
}

bool TlsCredentials::expiresWithin(int days, const QDateTime& now) const {
    return certificate_.expiryDate() <= now.addDays(days);
}

} // namespace herald
