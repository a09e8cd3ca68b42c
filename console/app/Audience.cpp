#include "console/app/Audience.h"

#include "console/app/NodesModel.h"
#include "console/app/ReportModels.h"
#include "shared/Streams.h"

#include <QObject>

namespace herald::console {
namespace {
// English plurals in code: the console ships no translations, so tr()'s %n forms would print
// "(s)" as is.
QString count(qint64 n, const char* one, const char* many) {
    return n == 1 ? QObject::tr(one) : QObject::tr(many).arg(n);
}

QString reach(qint64 connections, int nodes) {
    return QObject::tr("reaches about %1 on %2")
        .arg(count(connections, "1 connection", "%1 connections"),
             count(nodes, "1 node", "%1 nodes"));
}
} // namespace

AudiencePreview previewAudience(const admin::Target& target, const NodesModel& nodes,
                                const StreamsModel& streams) {
    AudiencePreview p;
    switch (target.kind) {
    case admin::Target::Kind::All:
        p.connections = nodes.totalConnections();
        p.nodes = nodes.liveNodes();
        p.text = reach(p.connections, p.nodes);
        break;
    case admin::Target::Kind::Node:
        if (const cluster::NodeInfo* n = nodes.liveNode(target.value)) {
            p.connections = n->connections;
            p.nodes = 1;
            p.text = reach(p.connections, 1);
        } else {
            p.valid = false;
            p.text = target.value.isEmpty() ? QObject::tr("choose a node")
                                            : QObject::tr("no live node \"%1\"").arg(target.value);
        }
        break;
    case admin::Target::Kind::Stream: {
        const auto resolved = streams::resolveForPublisher(target.value);
        if (const auto* e = std::get_if<Error>(&resolved)) {
            p.valid = false;
            p.text = target.value.isEmpty() ? QObject::tr("enter a stream") : e->message;
            break;
        }
        const QString key = std::get<streams::StreamRef>(resolved).routingKey();
        if (const auto n = streams.subscribersOf(key)) {
            p.connections = *n;
            p.nodes = nodes.liveNodes();
            p.text = QObject::tr("reaches about %1 of %2 on up to %3")
                         .arg(count(*n, "1 subscriber", "%1 subscribers"), key,
                              count(p.nodes, "1 node", "%1 nodes"));
        } else if (streams.hasReport()) {
            p.connections = 0;
            p.text = QObject::tr("no subscribers of %1 in the last streams report (it lists the "
                                 "top streams only)")
                         .arg(key);
        } else {
            p.text = QObject::tr("subscribers of %1: waiting for a streams report").arg(key);
        }
        break;
    }
    case admin::Target::Kind::User:
        if (target.value.isEmpty() || !streams::isValidUserId(target.value)) {
            p.valid = false;
            p.text = QObject::tr("enter a user id");
        } else {
            p.text =
                QObject::tr(
                    "reaches the connections of user %1 (their count is not shown to the console)")
                    .arg(target.value);
        }
        break;
    }
    return p;
}

} // namespace herald::console
