#include "console/app/Profiles.h"

#include <QSettings>

namespace herald::console {

ProfileStore::ProfileStore(QSettings& settings)
    : settings_(settings) {}

QList<Profile> ProfileStore::all() const {
    QList<Profile> out;
    const int n = settings_.beginReadArray(QStringLiteral("profiles"));
    for (int i = 0; i < n; ++i) {
        settings_.setArrayIndex(i);
        out.append({settings_.value(QStringLiteral("name")).toString(),
                    settings_.value(QStringLiteral("url")).toString(),
                    settings_.value(QStringLiteral("token")).toString(),
                    settings_.value(QStringLiteral("tokenInKeyring")).toBool()});
    }
    settings_.endArray();
    return out;
}

std::optional<Profile> ProfileStore::find(const QString& name) const {
    for (const Profile& p : all())
        if (p.name == name)
            return p;
    return std::nullopt;
}

void ProfileStore::save(const Profile& profile) {
    QList<Profile> list = all();
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const Profile& p) { return p.name == profile.name; });
    if (it != list.end())
        *it = profile;
    else
        list.append(profile);
    // Rewritten whole: QSettings arrays cannot update one element in place.
    settings_.beginWriteArray(QStringLiteral("profiles"), static_cast<int>(list.size()));
    for (int i = 0; i < list.size(); ++i) {
        settings_.setArrayIndex(i);
        settings_.setValue(QStringLiteral("name"), list.at(i).name);
        settings_.setValue(QStringLiteral("url"), list.at(i).url);
        settings_.setValue(QStringLiteral("token"),
                           list.at(i).tokenInKeyring ? QString() : list.at(i).token);
        settings_.setValue(QStringLiteral("tokenInKeyring"), list.at(i).tokenInKeyring);
    }
    settings_.endArray();
}

void ProfileStore::remove(const QString& name) {
    QList<Profile> list = all();
    list.removeIf([&](const Profile& p) { return p.name == name; });
    settings_.remove(QStringLiteral("profiles"));
    for (const Profile& p : list)
        save(p);
}

QString ProfileStore::lastUsed() const {
    return settings_.value(QStringLiteral("lastProfile")).toString();
}
void ProfileStore::setLastUsed(const QString& name) {
    settings_.setValue(QStringLiteral("lastProfile"), name);
}

} // namespace herald::console
