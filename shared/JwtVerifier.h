#pragma once

#include "shared/Errors.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <openssl/types.h>

#include <memory>
#include <variant>

namespace herald {

struct JwtConfig {
    QByteArray hs256Secret; // non-empty enables HS256
    QByteArray
        publicKeyPem;       // an RSA public key enables RS256, an EC P-256 public key enables ES256
    QStringList algorithms; // allow-list, e.g. {"HS256","RS256"}; empty = every algorithm whose key
                            // is configured
    QString audience;       // non-empty: the token's "aud" (string or array) must contain it
    QString issuer;         // non-empty: "iss" must equal it
    int leewaySeconds = 30; // for exp/nbf/iat; negative values count as 0
    bool requireExp = true; // a token without "exp" would never expire: refuse it
};

struct JwtClaims {
    QString subject;
    qint64 expiresAt = 0; // 0 = no exp
    QJsonObject claims;   // the whole payload
};

// Verifies compact JWS tokens (HS256, RS256, ES256). Immutable after create(); verify() is const
// and safe to call from several threads at once. Copies share the (read-only) public key.
class JwtVerifier {
public:
    // A disabled verifier: enabled() is false and verify() refuses every token with
    // "token authentication is not configured". Use it when no JWT settings are given.
    JwtVerifier();

    // Fails (returns the error text) for an unreadable PEM, a public key that is neither RSA
    // (>= 2048 bits) nor EC P-256, an allow-list naming an unknown algorithm or "none", an
    // algorithm allowed without its key, or no algorithm usable at all (empty config).
    static std::variant<JwtVerifier, QString> create(const JwtConfig& config);

    // Verifies a compact JWS. Every failure is ErrorCode::Unauthorized with a short readable
    // message saying why ("token expired", "bad signature", "malformed token", ...).
    std::variant<JwtClaims, Error> verify(QByteArrayView token, qint64 nowSeconds) const;

    bool enabled() const; // at least one algorithm usable

    ~JwtVerifier();
    JwtVerifier(const JwtVerifier&);
    JwtVerifier& operator=(const JwtVerifier&);
    JwtVerifier(JwtVerifier&&) noexcept;
    JwtVerifier& operator=(JwtVerifier&&) noexcept;

private:
    QByteArray m_secret;             // HMAC key; only ever used for HS256
    std::shared_ptr<EVP_PKEY> m_key; // RSA or EC P-256 public key; never used for HS256
    bool m_allowHs256 = false;
    bool m_allowRs256 = false;
    bool m_allowEs256 = false;
    QString m_audience;
    QString m_issuer;
    int m_leeway = 30;
    bool m_requireExp = true;
};

// Largest token verify() accepts, in bytes.
inline constexpr qsizetype kMaxJwtSize = 8 * 1024;

// Mints an HS256 token (for heraldctl's development tokens and tests). Returns an empty
// QByteArray for an empty secret rather than a token anyone could forge.
QByteArray mintHs256(const QJsonObject& claims, const QByteArray& secret);

// Constant-time equality for credentials: equal-length inputs are compared without an early
// exit on content; different lengths compare false (the length itself is not secret).
bool constantTimeEquals(QByteArrayView a, QByteArrayView b);

} // namespace herald
