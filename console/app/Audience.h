#pragma once

#include "shared/Admin.h"

namespace herald::console {

class NodesModel;
class StreamsModel;

// Who a broadcast would reach, estimated from the live snapshot before it is sent.
struct AudiencePreview {
    qint64 connections = -1; // -1: the console cannot know (a user's connections)
    int nodes = -1;          // -1: unknown
    QString text;            // "reaches about N connections on M nodes"
    bool valid = true;       // false: the target itself is malformed (text says why)
};

AudiencePreview previewAudience(const admin::Target& target, const NodesModel& nodes,
                                const StreamsModel& streams);

} // namespace herald::console
