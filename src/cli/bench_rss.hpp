#pragma once

namespace posthorn::cli {

/// Opens `connections` PeerConnections in this process (connections/2 pairs on loopback, each
/// with its own socket, data channel open) and returns the resident memory they added, per
/// connection, in KiB.
double measure_rss_kib_per_connection(int connections);

} // namespace posthorn::cli
