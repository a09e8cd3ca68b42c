#pragma once

#include "shared/Admin.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableView;

namespace herald::console {

class ConsoleSession;

// Compose a system notice, see who it would reach, send it, and watch its delivery.
class ComposeView : public QWidget {
    Q_OBJECT
public:
    explicit ComposeView(ConsoleSession& session, QWidget* parent = nullptr);

    admin::Target target() const;
    SystemNotice notice() const;
    // The "Sticky for" field: 0 when empty (a plain broadcast), -1 when it is not a duration.
    qint64 ttlMs() const;
    // Presets the target (e.g. from the streams view).
    void setTarget(const admin::Target& target);
    void send();
    // Withdraws the sticky notice selected in the list of active ones.
    void withdrawSelected();

private:
    void updatePreview();

    ConsoleSession& session_;
    QComboBox* kind_;
    QLineEdit* value_;
    QLineEdit* title_;
    QPlainTextEdit* body_;
    QComboBox* level_;
    QLineEdit* ttl_;
    QLabel* preview_;
    QLabel* result_;
    QPushButton* send_;
    QTableView* history_;
    QTableView* sticky_;
    QPushButton* withdraw_;
};

} // namespace herald::console
