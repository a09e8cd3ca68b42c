#pragma once

#include <QObject>
#include <QString>
#include <functional>

namespace herald::console {

// Where admin tokens of saved profiles live: the system keyring through QtKeychain when the
// console was built with it (HERALD_HAVE_QTKEYCHAIN) and a keyring answers, otherwise nowhere
// but the caller's clear-text fallback. Both directions are asynchronous because a keyring may
// prompt the user; nothing here waits on the UI thread.
class TokenVault {
public:
    // Compiled with QtKeychain at all (a keyring may still be missing at run time).
    static bool compiledIn();

    // `done(true, {})` when stored in the keyring; `done(false, why)` when the caller must fall
    // back to storing it itself.
    static void store(const QString& profile, const QString& token, QObject* context,
                      std::function<void(bool inKeyring, const QString& why)> done);
    // `done(token)`; empty when the keyring has none or cannot be reached.
    static void load(const QString& profile, QObject* context,
                     std::function<void(const QString& token)> done);
    static void forget(const QString& profile);
};

} // namespace herald::console
