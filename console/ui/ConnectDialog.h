#pragma once

#include "console/app/Profiles.h"

#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace herald::console {

// Pick or edit a cluster profile (name, node URL, admin token) and connect to it.
class ConnectDialog : public QDialog {
    Q_OBJECT
public:
    ConnectDialog(ProfileStore& store, QWidget* parent = nullptr);
    Profile profile() const;
    // Why the token had to be saved in clear text; empty when it is in the keyring (or not saved).
    QString clearTextReason() const { return clearTextReason_; }

private:
    void load(const QString& name);
    void saveAndAccept();

    ProfileStore& store_;
    QComboBox* profiles_;
    QLineEdit* name_;
    QLineEdit* url_;
    QLineEdit* token_;
    QLabel* warning_;
    QDialogButtonBox* buttons_;
    QString clearTextReason_;
};

} // namespace herald::console
