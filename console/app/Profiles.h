#pragma once

#include <QList>
#include <QString>
#include <optional>

class QSettings;

namespace herald::console {

// A cluster the console can connect to. Several are kept so support staff can switch between
// staging and production without retyping URLs.
struct Profile {
    QString name;
    QString url;
    QString token; // empty when it lives in the keyring
    bool tokenInKeyring = false;
    bool operator==(const Profile&) const = default;
};

// Profiles in QSettings. The token goes to the system keyring (TokenVault) when one answers;
// otherwise it is kept here in clear text, and the connect dialog says so.
class ProfileStore {
public:
    explicit ProfileStore(QSettings& settings);

    QList<Profile> all() const;
    std::optional<Profile> find(const QString& name) const;
    void save(const Profile& profile);
    void remove(const QString& name);
    QString lastUsed() const;
    void setLastUsed(const QString& name);

private:
    QSettings& settings_;
};

} // namespace herald::console
