// Unit tests for herald_jwt: HS256/RS256/ES256 verification, time claims, audience/issuer,
// malformed input and the classic JWT attacks ("none", RS/HS key confusion).

#include "shared/JwtVerifier.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstring>
#include <memory>

using namespace herald;

namespace {

constexpr qint64 kNow = 1'700'000'000;
const QByteArray kSecret = "test-secret-that-is-at-least-32-bytes-long";

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

QByteArray b64(const QByteArray& bytes) {
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray json(const QJsonObject& o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray publicPem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (PEM_write_bio_PUBKEY(bio.get(), key) != 1)
        return {};
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QByteArray(data, len);
}

QByteArray hmac(const QByteArray& key, const QByteArray& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.constData(), int(key.size()),
         reinterpret_cast<const unsigned char*>(data.constData()), size_t(data.size()), out, &len);
    return QByteArray(reinterpret_cast<const char*>(out), len);
}

// RS256 / ES256 signing with EVP_DigestSign; ES256 output is converted from DER to raw R||S.
QByteArray digestSign(EVP_PKEY* key, const QByteArray& data, bool rawEcdsa) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(data.constData());
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, in, size_t(data.size())) != 1)
        return {};
    QByteArray sig(qsizetype(len), Qt::Uninitialized);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       size_t(data.size())) != 1)
        return {};
    sig.truncate(qsizetype(len));
    if (!rawEcdsa)
        return sig;
    const auto* der = reinterpret_cast<const unsigned char*>(sig.constData());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> ecdsa(
        d2i_ECDSA_SIG(nullptr, &der, long(sig.size())), &ECDSA_SIG_free);
    QByteArray raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + 32, 32);
    return raw;
}

QByteArray flipSignatureByte(const QByteArray& token) {
    const qsizetype dot = token.lastIndexOf('.');
    QByteArray sig = QByteArray::fromBase64(token.mid(dot + 1), QByteArray::Base64UrlEncoding);
    sig[sig.size() / 2] = char(sig[sig.size() / 2] ^ 0x01);
    return token.left(dot + 1) + b64(sig);
}

} // namespace

class TestJwt : public QObject {
    Q_OBJECT

    PKey m_rsa{nullptr, &EVP_PKEY_free};
    PKey m_ec{nullptr, &EVP_PKEY_free};
    QByteArray m_rsaPem;
    QByteArray m_ecPem;

    // Signs header.payload with the key matching alg; hsKey lets a test choose the HMAC key
    // (for the confusion attack). Any other alg gets an empty signature.
    QByteArray sign(const QByteArray& alg, const QByteArray& signingInput,
                    const QByteArray& hsKey) const {
        if (alg == "HS256")
            return hmac(hsKey, signingInput);
        if (alg == "RS256")
            return digestSign(m_rsa.get(), signingInput, false);
        if (alg == "ES256")
            return digestSign(m_ec.get(), signingInput, true);
        return {};
    }

    QByteArray token(const QByteArray& alg, const QByteArray& payload,
                     const QByteArray& hsKey = kSecret) const {
        const QByteArray input =
            b64(json({{"alg", QString::fromLatin1(alg)}, {"typ", "JWT"}})) + '.' + b64(payload);
        return input + '.' + b64(sign(alg, input, hsKey));
    }

    QByteArray token(const QByteArray& alg, const QJsonObject& claims) const {
        return token(alg, json(claims));
    }

    JwtVerifier make(const JwtConfig& config) const {
        auto result = JwtVerifier::create(config);
        if (auto* error = std::get_if<QString>(&result))
            qFatal("create() failed: %s", qPrintable(*error));
        return std::get<JwtVerifier>(std::move(result));
    }

    // The verifier each algorithm's tokens are normally checked with.
    JwtVerifier verifierFor(const QByteArray& alg) const {
        JwtConfig c;
        if (alg == "HS256")
            c.hs256Secret = kSecret;
        else
            c.publicKeyPem = alg == "RS256" ? m_rsaPem : m_ecPem;
        return make(c);
    }

    // "" means the token must be accepted; anything else is the exact Unauthorized message.
    static void expectOutcome(const std::variant<JwtClaims, Error>& result,
                              const QString& expected) {
        if (expected.isEmpty()) {
            if (auto* error = std::get_if<Error>(&result))
                QFAIL(qPrintable(QStringLiteral("refused: ") + error->message));
            QCOMPARE(std::get<JwtClaims>(result).subject, QStringLiteral("u42"));
            return;
        }
        QVERIFY2(std::holds_alternative<Error>(result), "token was accepted");
        QCOMPARE(std::get<Error>(result).code, ErrorCode::Unauthorized);
        QCOMPARE(std::get<Error>(result).message, expected);
    }

    static QJsonObject baseClaims() { return {{"sub", "u42"}, {"exp", double(kNow + 3600)}}; }

private Q_SLOTS:
    void initTestCase() {
        m_rsa.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
        m_ec.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        QVERIFY(m_rsa && m_ec);
        m_rsaPem = publicPem(m_rsa.get());
        m_ecPem = publicPem(m_ec.get());
        QVERIFY(m_rsaPem.startsWith("-----BEGIN PUBLIC KEY-----"));
        QVERIFY(m_ecPem.startsWith("-----BEGIN PUBLIC KEY-----"));
    }

    void validTokens_data() {
        QTest::addColumn<QByteArray>("alg");
        QTest::newRow("HS256") << QByteArray("HS256");
        QTest::newRow("RS256") << QByteArray("RS256");
        QTest::newRow("ES256") << QByteArray("ES256");
    }
    void validTokens() {
        QFETCH(QByteArray, alg);
        const QJsonObject claims{{"sub", "u42"}, {"exp", double(kNow + 60)}, {"role", "user"}};
        const auto result = verifierFor(alg).verify(token(alg, claims), kNow);
        expectOutcome(result, {});
        const auto& ok = std::get<JwtClaims>(result);
        QCOMPARE(ok.expiresAt, kNow + 60);
        QCOMPARE(ok.claims, claims);
    }

    void badSignature_data() { validTokens_data(); }
    void badSignature() {
        QFETCH(QByteArray, alg);
        expectOutcome(verifierFor(alg).verify(flipSignatureByte(token(alg, baseClaims())), kNow),
                      "bad signature");
    }

    void es256DerSignatureRefused() {
        // A DER signature is what OpenSSL produces natively; JWS requires raw R||S instead.
        const QByteArray input = b64(json({{"alg", "ES256"}})) + '.' + b64(json(baseClaims()));
        const QByteArray tok = input + '.' + b64(digestSign(m_ec.get(), input, false));
        expectOutcome(verifierFor("ES256").verify(tok, kNow), "bad signature");
    }

    void timeClaims_data() {
        QTest::addColumn<QString>("claim");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("exp beyond leeway")
            << "exp" << QJsonValue(double(kNow - 31)) << "token expired";
        QTest::newRow("exp exactly at leeway")
            << "exp" << QJsonValue(double(kNow - 30)) << "token expired";
        QTest::newRow("exp within leeway") << "exp" << QJsonValue(double(kNow - 29)) << "";
        QTest::newRow("nbf in future")
            << "nbf" << QJsonValue(double(kNow + 31)) << "token not yet valid";
        QTest::newRow("nbf within leeway") << "nbf" << QJsonValue(double(kNow + 30)) << "";
        QTest::newRow("nbf past") << "nbf" << QJsonValue(double(kNow - 100)) << "";
        QTest::newRow("iat in future")
            << "iat" << QJsonValue(double(kNow + 31)) << "token issued in the future";
        QTest::newRow("iat now") << "iat" << QJsonValue(double(kNow)) << "";
        QTest::newRow("exp string") << "exp" << QJsonValue("tomorrow") << "invalid \"exp\" claim";
        QTest::newRow("nbf null") << "nbf" << QJsonValue(QJsonValue::Null)
                                  << "invalid \"nbf\" claim";
        QTest::newRow("iat bool") << "iat" << QJsonValue(true) << "invalid \"iat\" claim";
    }
    void timeClaims() {
        QFETCH(QString, claim);
        QFETCH(QJsonValue, value);
        QFETCH(QString, expected);
        // nbf/iat cases carry a valid exp, so only the claim under test can refuse them.
        QJsonObject claims =
            claim == QLatin1String("exp") ? QJsonObject{{"sub", "u42"}} : baseClaims();
        claims.insert(claim, value);
        expectOutcome(verifierFor("HS256").verify(token("HS256", claims), kNow), expected);
    }

    void noExpIsRefusedByDefault() {
        const auto result =
            verifierFor("HS256").verify(token("HS256", QJsonObject{{"sub", "u42"}}), kNow);
        expectOutcome(result,
                      QStringLiteral("token has no \"exp\" claim (required by jwt_require_exp)"));
    }

    void noExpMeansZeroWhenNotRequired() {
        JwtConfig c;
        c.hs256Secret = kSecret;
        c.requireExp = false;
        const auto result = make(c).verify(token("HS256", QJsonObject{{"sub", "u42"}}), kNow);
        expectOutcome(result, {});
        QCOMPARE(std::get<JwtClaims>(result).expiresAt, qint64(0));
    }

    void algNone_data() {
        QTest::addColumn<QString>("alg");
        QTest::newRow("none") << "none";
        QTest::newRow("None") << "None";
        QTest::newRow("NONE") << "NONE";
    }
    void algNone() {
        QFETCH(QString, alg);
        const QByteArray tok = b64(json({{"alg", alg}})) + '.' + b64(json(baseClaims())) + '.';
        expectOutcome(verifierFor("HS256").verify(tok, kNow), "algorithm \"none\" is not allowed");
    }

    void keyConfusion_data() {
        QTest::addColumn<bool>("withSecret");
        QTest::addColumn<QString>("expected");
        QTest::newRow("PEM only") << false << "algorithm HS256 is not allowed";
        QTest::newRow("PEM and HS secret") << true << "bad signature";
    }
    void keyConfusion() {
        // The attacker signs an HS256 token using the server's public RSA key as HMAC secret.
        QFETCH(bool, withSecret);
        QFETCH(QString, expected);
        JwtConfig c;
        c.publicKeyPem = m_rsaPem;
        if (withSecret)
            c.hs256Secret = kSecret;
        const QByteArray forged = token("HS256", json(baseClaims()), m_rsaPem);
        expectOutcome(make(c).verify(forged, kNow), expected);
    }

    void algorithmNotAllowed_data() {
        QTest::addColumn<QStringList>("allow");
        QTest::addColumn<bool>("rsaKey");
        QTest::addColumn<QByteArray>("alg");
        QTest::addColumn<QString>("expected");
        QTest::newRow("HS256 excluded") << QStringList{"RS256"} << true << QByteArray("HS256")
                                        << "algorithm HS256 is not allowed";
        QTest::newRow("RS256 excluded") << QStringList{"HS256"} << true << QByteArray("RS256")
                                        << "algorithm RS256 is not allowed";
        QTest::newRow("ES256 with RSA key")
            << QStringList{} << true << QByteArray("ES256") << "algorithm ES256 is not allowed";
        QTest::newRow("RS256 with EC key")
            << QStringList{} << false << QByteArray("RS256") << "algorithm RS256 is not allowed";
        QTest::newRow("both allowed")
            << QStringList{"RS256", "HS256"} << true << QByteArray("HS256") << "";
    }
    void algorithmNotAllowed() {
        QFETCH(QStringList, allow);
        QFETCH(bool, rsaKey);
        QFETCH(QByteArray, alg);
        QFETCH(QString, expected);
        JwtConfig c;
        c.hs256Secret = kSecret;
        c.publicKeyPem = rsaKey ? m_rsaPem : m_ecPem;
        c.algorithms = allow;
        expectOutcome(make(c).verify(token(alg, baseClaims()), kNow), expected);
    }

    void unknownAlgorithm() {
        const QByteArray tok =
            b64(json({{"alg", "HS512"}})) + '.' + b64(json(baseClaims())) + '.' + b64("x");
        expectOutcome(verifierFor("HS256").verify(tok, kNow), "algorithm HS512 is not allowed");
    }

    void malformed_data() {
        QTest::addColumn<QByteArray>("tok");
        QTest::addColumn<QString>("expected");
        const QByteArray good = token("HS256", baseClaims());
        const QByteArray payload = b64(json(baseClaims()));
        const QString m = QStringLiteral("malformed token");
        QTest::newRow("empty") << QByteArray() << m;
        QTest::newRow("a.b") << QByteArray("a.b") << m;
        QTest::newRow("a.b.c.d") << QByteArray("a.b.c.d") << m;
        QTest::newRow("valid plus part") << QByteArray(good + ".e30") << m;
        QTest::newRow("dots only") << QByteArray("..") << m;
        QTest::newRow("not base64") << QByteArray("!!!.@@@.###") << m;
        QTest::newRow("standard alphabet")
            << QByteArray(b64(json({{"alg", "HS256"}})) + '.' + payload + ".ab+/") << m;
        // Same signature bytes, but its last character carries non-zero padding bits.
        QByteArray nonCanonical = good;
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        nonCanonical.back() = alphabet[(std::strchr(alphabet, good.back()) - alphabet) ^ 1];
        QTest::newRow("non-canonical base64") << nonCanonical << m;
        QTest::newRow("padded header")
            << QByteArray(b64(json({{"alg", "HS256"}})) + "=." + payload + ".AA") << m;
        QTest::newRow("header not JSON") << QByteArray(b64("nope") + '.' + payload + ".AA") << m;
        QTest::newRow("header array")
            << QByteArray(b64("[\"HS256\"]") + '.' + payload + ".AA") << m;
        QTest::newRow("header without alg")
            << QByteArray(b64("{\"typ\":\"JWT\"}") + '.' + payload + ".AA") << m;
        QTest::newRow("alg not string")
            << QByteArray(b64("{\"alg\":256}") + '.' + payload + ".AA") << m;
        // Correctly signed, but the payload is not a JSON object.
        QTest::newRow("payload array") << token("HS256", QByteArray("[\"u42\"]")) << m;
        QTest::newRow("payload not JSON") << token("HS256", QByteArray("sub=u42")) << m;
        QTest::newRow("too large") << QByteArray(kMaxJwtSize + 1, 'a') << "token too large";
        QTest::newRow("crit header")
            << QByteArray(b64("{\"alg\":\"HS256\",\"crit\":[\"x\"]}") + '.' + payload + ".AA")
            << "unsupported critical header";
    }
    void malformed() {
        QFETCH(QByteArray, tok);
        QFETCH(QString, expected);
        expectOutcome(verifierFor("HS256").verify(tok, kNow), expected);
    }

    void audience_data() {
        QTest::addColumn<QJsonValue>("aud");
        QTest::addColumn<QString>("expected");
        QTest::newRow("string") << QJsonValue("herald") << "";
        QTest::newRow("array") << QJsonValue(QJsonArray{"other", "herald"}) << "";
        QTest::newRow("wrong string") << QJsonValue("other") << "wrong audience";
        QTest::newRow("wrong array") << QJsonValue(QJsonArray{"other"}) << "wrong audience";
        QTest::newRow("missing") << QJsonValue(QJsonValue::Undefined) << "wrong audience";
        QTest::newRow("number") << QJsonValue(1) << "wrong audience";
    }
    void audience() {
        QFETCH(QJsonValue, aud);
        QFETCH(QString, expected);
        JwtConfig c;
        c.hs256Secret = kSecret;
        c.audience = "herald";
        QJsonObject claims = baseClaims();
        if (!aud.isUndefined())
            claims.insert("aud", aud);
        expectOutcome(make(c).verify(token("HS256", claims), kNow), expected);
    }

    void issuer_data() {
        QTest::addColumn<QJsonValue>("iss");
        QTest::addColumn<QString>("expected");
        QTest::newRow("equal") << QJsonValue("https://auth.example") << "";
        QTest::newRow("different") << QJsonValue("https://evil.example") << "wrong issuer";
        QTest::newRow("prefix") << QJsonValue("https://auth.example.evil") << "wrong issuer";
        QTest::newRow("missing") << QJsonValue(QJsonValue::Undefined) << "wrong issuer";
    }
    void issuer() {
        QFETCH(QJsonValue, iss);
        QFETCH(QString, expected);
        JwtConfig c;
        c.hs256Secret = kSecret;
        c.issuer = "https://auth.example";
        QJsonObject claims = baseClaims();
        if (!iss.isUndefined())
            claims.insert("iss", iss);
        expectOutcome(make(c).verify(token("HS256", claims), kNow), expected);
    }

    void subject_data() {
        QTest::addColumn<QJsonValue>("sub");
        QTest::newRow("missing") << QJsonValue(QJsonValue::Undefined);
        QTest::newRow("empty") << QJsonValue("");
        QTest::newRow("number") << QJsonValue(42);
    }
    void subject() {
        QFETCH(QJsonValue, sub);
        QJsonObject claims{{"exp", double(kNow + 60)}};
        if (!sub.isUndefined())
            claims.insert("sub", sub);
        expectOutcome(verifierFor("HS256").verify(token("HS256", claims), kNow),
                      "missing \"sub\" claim");
    }

    void createErrors_data() {
        QTest::addColumn<QByteArray>("secret");
        QTest::addColumn<QByteArray>("pem");
        QTest::addColumn<QStringList>("allow");
        QTest::addColumn<QString>("expected");
        const QByteArray junkPem =
            "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
        QTest::newRow("bad PEM")
            << QByteArray() << junkPem << QStringList{}
            << "cannot read the public key PEM (expected a \"PUBLIC KEY\" block)";
        QTest::newRow("none allowed") << kSecret << QByteArray() << QStringList{"HS256", "none"}
                                      << "algorithm \"none\" cannot be allowed";
        QTest::newRow("unknown alg")
            << kSecret << QByteArray() << QStringList{"HS512"}
            << "unknown JWT algorithm \"HS512\" (supported: HS256, RS256, ES256)";
        QTest::newRow("HS256 without secret")
            << QByteArray() << m_rsaPem << QStringList{"HS256"}
            << "HS256 is allowed but no HS256 secret is configured";
        QTest::newRow("RS256 with EC key")
            << QByteArray() << m_ecPem << QStringList{"RS256"}
            << "RS256 is allowed but no RSA public key is configured";
        QTest::newRow("ES256 without key")
            << kSecret << QByteArray() << QStringList{"ES256"}
            << "ES256 is allowed but no EC P-256 public key is configured";
        QTest::newRow("nothing configured")
            << QByteArray() << QByteArray() << QStringList{}
            << "no JWT algorithm is usable: configure an HS256 secret or a public key";
    }
    void createErrors() {
        QFETCH(QByteArray, secret);
        QFETCH(QByteArray, pem);
        QFETCH(QStringList, allow);
        QFETCH(QString, expected);
        JwtConfig c;
        c.hs256Secret = secret;
        c.publicKeyPem = pem;
        c.algorithms = allow;
        const auto result = JwtVerifier::create(c);
        QVERIFY2(std::holds_alternative<QString>(result), "create() succeeded");
        QCOMPARE(std::get<QString>(result), expected);
    }

    void createRejectsWeakOrOtherKeys() {
        PKey small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(1024)), &EVP_PKEY_free);
        PKey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), &EVP_PKEY_free);
        QVERIFY(small && p384);
        JwtConfig c;
        c.publicKeyPem = publicPem(small.get());
        QCOMPARE(std::get<QString>(JwtVerifier::create(c)),
                 "RSA public key is shorter than 2048 bits");
        c.publicKeyPem = publicPem(p384.get());
        QCOMPARE(std::get<QString>(JwtVerifier::create(c)),
                 "public key must be RSA (RS256) or EC P-256 (ES256)");
    }

    void disabledVerifier() {
        const JwtVerifier v;
        QVERIFY(!v.enabled());
        QVERIFY(verifierFor("HS256").enabled());
        expectOutcome(v.verify(token("HS256", baseClaims()), kNow),
                      "token authentication is not configured");
    }

    void copiesAndMovesKeepWorking() {
        JwtVerifier a = verifierFor("RS256");
        const JwtVerifier b = a;
        const JwtVerifier c = std::move(a);
        expectOutcome(b.verify(token("RS256", baseClaims()), kNow), {});
        expectOutcome(c.verify(token("RS256", baseClaims()), kNow), {});
    }

    void mintRoundTrip() {
        const QJsonObject claims{{"sub", "u42"}, {"exp", double(kNow + 600)}, {"name", "Zoë"}};
        const QByteArray tok = mintHs256(claims, kSecret);
        QCOMPARE(tok.count('.'), 2);
        const auto result = verifierFor("HS256").verify(tok, kNow);
        expectOutcome(result, {});
        QCOMPARE(std::get<JwtClaims>(result).claims, claims);
        QCOMPARE(std::get<JwtClaims>(result).expiresAt, kNow + 600);
        // A different secret must not verify it, and an empty secret mints nothing.
        JwtConfig other;
        other.hs256Secret = "another-secret";
        expectOutcome(make(other).verify(tok, kNow), "bad signature");
        QVERIFY(mintHs256(claims, {}).isEmpty());
    }

    void constantTimeEqualsCases_data() {
        QTest::addColumn<QByteArray>("a");
        QTest::addColumn<QByteArray>("b");
        QTest::addColumn<bool>("equal");
        QTest::newRow("both empty") << QByteArray() << QByteArray("") << true;
        QTest::newRow("same") << QByteArray("s3cret") << QByteArray("s3cret") << true;
        QTest::newRow("last byte") << QByteArray("s3cret") << QByteArray("s3creT") << false;
        QTest::newRow("first byte") << QByteArray("s3cret") << QByteArray("S3cret") << false;
        QTest::newRow("prefix") << QByteArray("s3cret") << QByteArray("s3cre") << false;
        QTest::newRow("empty vs non-empty") << QByteArray() << QByteArray("x") << false;
        QTest::newRow("embedded NUL") << QByteArray("a\0b", 3) << QByteArray("a\0c", 3) << false;
    }
    void constantTimeEqualsCases() {
        QFETCH(QByteArray, a);
        QFETCH(QByteArray, b);
        QFETCH(bool, equal);
        QCOMPARE(constantTimeEquals(a, b), equal);
        QCOMPARE(constantTimeEquals(b, a), equal);
    }
};

QTEST_GUILESS_MAIN(TestJwt)
#include "tst_jwt.moc"
