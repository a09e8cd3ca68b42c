#include "shared/JwtVerifier.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace herald {

namespace {

// RFC 7518 3.3: RSA keys for RS256 must be at least 2048 bits.
constexpr int kMinRsaBits = 2048;
// ES256 signatures in JWS are the raw 32-byte R followed by the 32-byte S (RFC 7518 3.4).
constexpr int kEs256Half = 32;

enum class Alg { HS256, RS256, ES256 };

std::optional<Alg> algFromName(QStringView name) {
    if (name == u"HS256")
        return Alg::HS256;
    if (name == u"RS256")
        return Alg::RS256;
    if (name == u"ES256")
        return Alg::ES256;
    return std::nullopt;
}

Error unauthorized(const QString& message) {
    return Error{ErrorCode::Unauthorized, message};
}

// Strict base64url: the segment must be exactly what we would produce for its bytes. This
// refuses padding, stray characters and non-canonical trailing bits, so one token has one
// spelling (relevant for anything that caches or deny-lists tokens by their text).
std::optional<QByteArray> decodeSegment(QByteArrayView segment) {
    const auto options = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;
    const QByteArray text = segment.toByteArray();
    auto result =
        QByteArray::fromBase64Encoding(text, options | QByteArray::AbortOnBase64DecodingErrors);
    if (!result || result.decoded.toBase64(options) != text)
        return std::nullopt;
    return std::move(result.decoded);
}

QByteArray encodeSegment(const QByteArray& bytes) {
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

std::optional<QJsonObject> parseObject(const QByteArray& json) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return std::nullopt;
    return doc.object();
}

std::optional<QByteArray> hmacSha256(QByteArrayView key, QByteArrayView data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outLen = 0;
    if (key.isEmpty() || HMAC(EVP_sha256(), key.data(), int(key.size()),
                              reinterpret_cast<const unsigned char*>(data.data()),
                              size_t(data.size()), out, &outLen) == nullptr) {
        ERR_clear_error();
        return std::nullopt;
    }
    return QByteArray(reinterpret_cast<const char*>(out), qsizetype(outLen));
}

// Converts the JWS raw R||S form into the DER ECDSA-Sig-Value that EVP_DigestVerify expects.
std::optional<QByteArray> rawEcdsaToDer(const QByteArray& raw) {
    if (raw.size() != 2 * kEs256Half)
        return std::nullopt;
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.constData());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
    BIGNUM* r = BN_bin2bn(bytes, kEs256Half, nullptr);
    BIGNUM* s = BN_bin2bn(bytes + kEs256Half, kEs256Half, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r); // set0 only takes ownership on success
        BN_free(s);
        return std::nullopt;
    }
    const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0)
        return std::nullopt;
    QByteArray der(len, Qt::Uninitialized);
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(sig.get(), &out) != len)
        return std::nullopt;
    return der;
}

bool verifyWithKey(EVP_PKEY* key, QByteArrayView signingInput, const QByteArray& signature) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.constData()),
                         size_t(signature.size()),
                         reinterpret_cast<const unsigned char*>(signingInput.data()),
                         size_t(signingInput.size())) == 1;
    // A failed verification leaves entries on the thread's error queue; don't leak them to
    // whatever uses OpenSSL next on this thread (e.g. a TLS socket).
    ERR_clear_error();
    return ok;
}

bool isP256(EVP_PKEY* key) {
    char name[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1)
        return false;
    return OBJ_sn2nid(name) == NID_X9_62_prime256v1;
}

// An algorithm name from a token header is attacker-controlled: keep it short and printable
// before it goes into an error message that may be logged or sent back.
QString printableAlg(const QString& alg) {
    QString out;
    for (QChar c : alg.left(32))
        out += (c.unicode() >= 0x21 && c.unicode() < 0x7f) ? c : QChar(u'?');
    return out;
}

// NumericDate claims may be fractional; clamp before converting so huge values stay defined.
qint64 toSeconds(double value) {
    constexpr double kLimit = 9007199254740992.0; // 2^53
    return qint64(std::floor(std::clamp(value, -kLimit, kLimit)));
}

bool audienceMatches(const QJsonValue& aud, const QString& wanted) {
    if (aud.isString())
        return aud.toString() == wanted;
    if (aud.isArray()) {
        const QJsonArray list = aud.toArray();
        return std::any_of(list.begin(), list.end(), [&](const QJsonValue& v) {
            return v.isString() && v.toString() == wanted;
        });
    }
    return false;
}

} // namespace

JwtVerifier::JwtVerifier() = default;
JwtVerifier::~JwtVerifier() = default;
JwtVerifier::JwtVerifier(const JwtVerifier&) = default;
JwtVerifier& JwtVerifier::operator=(const JwtVerifier&) = default;
JwtVerifier::JwtVerifier(JwtVerifier&&) noexcept = default;
JwtVerifier& JwtVerifier::operator=(JwtVerifier&&) noexcept = default;

std::variant<JwtVerifier, QString> JwtVerifier::create(const JwtConfig& config) {
    JwtVerifier v;
    v.m_secret = config.hs256Secret;
    v.m_audience = config.audience;
    v.m_issuer = config.issuer;
    v.m_leeway = std::max(0, config.leewaySeconds);
    v.m_requireExp = config.requireExp;

    bool haveRsa = false;
    bool haveEc = false;
    if (!config.publicKeyPem.isEmpty()) {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(
            BIO_new_mem_buf(config.publicKeyPem.constData(), int(config.publicKeyPem.size())),
            &BIO_free);
        EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
        ERR_clear_error();
        if (!key)
            return QStringLiteral(
                "cannot read the public key PEM (expected a \"PUBLIC KEY\" block)");
        v.m_key.reset(key, &EVP_PKEY_free);
        if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
            if (EVP_PKEY_get_bits(key) < kMinRsaBits)
                return QStringLiteral("RSA public key is shorter than %1 bits").arg(kMinRsaBits);
            haveRsa = true;
        } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && isP256(key)) {
            haveEc = true;
        } else {
            return QStringLiteral("public key must be RSA (RS256) or EC P-256 (ES256)");
        }
    }
    const bool haveSecret = !config.hs256Secret.isEmpty();

    if (config.algorithms.isEmpty()) {
        v.m_allowHs256 = haveSecret;
        v.m_allowRs256 = haveRsa;
        v.m_allowEs256 = haveEc;
    } else {
        for (const QString& name : config.algorithms) {
            if (name.compare(u"none", Qt::CaseInsensitive) == 0)
                return QStringLiteral("algorithm \"none\" cannot be allowed");
            const std::optional<Alg> alg = algFromName(name);
            if (!alg)
                return QStringLiteral(
                           "unknown JWT algorithm \"%1\" (supported: HS256, RS256, ES256)")
                    .arg(name);
            switch (*alg) {
            case Alg::HS256:
                if (!haveSecret)
                    return QStringLiteral("HS256 is allowed but no HS256 secret is configured");
                v.m_allowHs256 = true;
                break;
            case Alg::RS256:
                if (!haveRsa)
                    return QStringLiteral("RS256 is allowed but no RSA public key is configured");
                v.m_allowRs256 = true;
                break;
            case Alg::ES256:
                if (!haveEc)
                    return QStringLiteral(
                        "ES256 is allowed but no EC P-256 public key is configured");
                v.m_allowEs256 = true;
                break;
            }
        }
    }
    if (!v.enabled())
        return QStringLiteral(
            "no JWT algorithm is usable: configure an HS256 secret or a public key");
    // Drop keys the allow-list does not use, so they cannot be reached by mistake later.
    if (!v.m_allowHs256)
        v.m_secret.clear();
    if (!v.m_allowRs256 && !v.m_allowEs256)
        v.m_key.reset();
    return v;
}

bool JwtVerifier::enabled() const {
    return m_allowHs256 || m_allowRs256 || m_allowEs256;
}

std::variant<JwtClaims, Error> JwtVerifier::verify(QByteArrayView token, qint64 nowSeconds) const {
    if (!enabled())
        return unauthorized(QStringLiteral("token authentication is not configured"));
    if (token.size() > kMaxJwtSize)
        return unauthorized(QStringLiteral("token too large"));

    // Compact JWS: exactly three dot-separated base64url segments.
    const qsizetype dot1 = token.indexOf('.');
    const qsizetype dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0)
        return unauthorized(QStringLiteral("malformed token"));
    const QByteArrayView signingInput = token.first(dot2);
    const std::optional<QByteArray> headerJson = decodeSegment(token.first(dot1));
    const std::optional<QByteArray> payloadJson =
        decodeSegment(token.sliced(dot1 + 1, dot2 - dot1 - 1));
    const std::optional<QByteArray> signature = decodeSegment(token.sliced(dot2 + 1));
    if (!headerJson || !payloadJson || !signature)
        return unauthorized(QStringLiteral("malformed token"));

    const std::optional<QJsonObject> header = parseObject(*headerJson);
    if (!header || !header->value(u"alg").isString())
        return unauthorized(QStringLiteral("malformed token"));
    // RFC 7515 4.1.11: extensions listed in "crit" must be understood; we understand none.
    if (header->contains(u"crit"))
        return unauthorized(QStringLiteral("unsupported critical header"));

    // The header names the algorithm, but it only counts if it is allowed and its own key is
    // configured: HS256 is checked against the HMAC secret only, never the PEM (this is what
    // defeats the RS/HS confusion attack of using a public key as an HMAC secret).
    const QString algName = header->value(u"alg").toString();
    if (algName.compare(u"none", Qt::CaseInsensitive) == 0)
        return unauthorized(QStringLiteral("algorithm \"none\" is not allowed"));
    const std::optional<Alg> alg = algFromName(algName);
    const bool allowed =
        alg && ((*alg == Alg::HS256 && m_allowHs256) || (*alg == Alg::RS256 && m_allowRs256) ||
                (*alg == Alg::ES256 && m_allowEs256));
    if (!allowed)
        return unauthorized(
            QStringLiteral("algorithm %1 is not allowed").arg(printableAlg(algName)));

    bool good = false;
    switch (*alg) {
    case Alg::HS256: {
        const std::optional<QByteArray> mac = hmacSha256(m_secret, signingInput);
        good = mac && mac->size() == signature->size() &&
               CRYPTO_memcmp(mac->constData(), signature->constData(), size_t(mac->size())) == 0;
        break;
    }
    case Alg::RS256:
        good = verifyWithKey(m_key.get(), signingInput, *signature);
        break;
    case Alg::ES256: {
        const std::optional<QByteArray> der = rawEcdsaToDer(*signature);
        good = der && verifyWithKey(m_key.get(), signingInput, *der);
        break;
    }
    }
    if (!good)
        return unauthorized(QStringLiteral("bad signature"));

    // Only now, with an authentic token, look at what it claims.
    const std::optional<QJsonObject> payload = parseObject(*payloadJson);
    if (!payload)
        return unauthorized(QStringLiteral("malformed token"));

    JwtClaims out;
    out.claims = *payload;
    const double now = double(nowSeconds);
    const double leeway = double(m_leeway);

    for (const char16_t* name : {u"exp", u"nbf", u"iat"}) {
        const QJsonValue v = payload->value(name);
        if (!v.isUndefined() && !v.isDouble())
            return unauthorized(
                QStringLiteral("invalid \"%1\" claim").arg(QString::fromUtf16(name)));
    }
    if (const QJsonValue exp = payload->value(u"exp"); exp.isDouble()) {
        // RFC 7519 4.1.4: the current time must be before exp (plus leeway for clock skew).
        if (now - leeway >= exp.toDouble())
            return unauthorized(QStringLiteral("token expired"));
        out.expiresAt = toSeconds(exp.toDouble());
    } else if (m_requireExp) {
        return unauthorized(
            QStringLiteral("token has no \"exp\" claim (required by jwt_require_exp)"));
    }
    if (const QJsonValue nbf = payload->value(u"nbf");
        nbf.isDouble() && now + leeway < nbf.toDouble())
        return unauthorized(QStringLiteral("token not yet valid"));
    if (const QJsonValue iat = payload->value(u"iat");
        iat.isDouble() && now + leeway < iat.toDouble())
        return unauthorized(QStringLiteral("token issued in the future"));

    if (!m_issuer.isEmpty()) {
        const QJsonValue iss = payload->value(u"iss");
        if (!iss.isString() || iss.toString() != m_issuer)
            return unauthorized(QStringLiteral("wrong issuer"));
    }
    if (!m_audience.isEmpty() && !audienceMatches(payload->value(u"aud"), m_audience))
        return unauthorized(QStringLiteral("wrong audience"));

    const QJsonValue sub = payload->value(u"sub");
    if (!sub.isString() || sub.toString().isEmpty())
        return unauthorized(QStringLiteral("missing \"sub\" claim"));
    out.subject = sub.toString();
    return out;
}

QByteArray mintHs256(const QJsonObject& claims, const QByteArray& secret) {
    if (secret.isEmpty())
        return {};
    const QJsonObject header{{QStringLiteral("alg"), QStringLiteral("HS256")},
                             {QStringLiteral("typ"), QStringLiteral("JWT")}};
    QByteArray token = encodeSegment(QJsonDocument(header).toJson(QJsonDocument::Compact));
    token += '.';
    token += encodeSegment(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    const std::optional<QByteArray> mac = hmacSha256(secret, token);
    if (!mac)
        return {};
    token += '.';
    token += encodeSegment(*mac);
    return token;
}

bool constantTimeEquals(QByteArrayView a, QByteArrayView b) {
    if (a.size() != b.size())
        return false;
    return a.isEmpty() || CRYPTO_memcmp(a.data(), b.data(), size_t(a.size())) == 0;
}

} // namespace herald
