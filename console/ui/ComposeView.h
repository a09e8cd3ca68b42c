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
    // Presets the target (e.g. from the streams view).
    void setTarget(const admin::Target& target);
    void send();

private:
    void updatePreview();

    ConsoleSession& session_;
    QComboBox* kind_;
    QLineEdit* value_;
    QLineEdit* title_;
    QPlainTextEdit* body_;
    QComboBox* level_;
    QLabel* preview_;
    QLabel* result_;
    QPushButton* send_;
    QTableView* history_;
};

} // namespace herald::console
