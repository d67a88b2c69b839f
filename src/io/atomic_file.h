// Atomic file replacement for everything the io module writes (.weights.h5 now, .keras archives next):
// the content goes to a temporary file in the target's directory, which is flushed to disk (fsync),
// renamed over the target, and the directory is fsynced so the rename itself survives a crash. At any
// instant the target is either the old complete file or the new complete file, never a mix.
//   write_atomically("model.weights.h5", [&](const std::string& temp_path) {
//     write_file(temp_path, bytes, "model.weights.h5");
//   });
#pragma once
#include <functional>
#include <string>

namespace keel::saving::detail {

/// Runs `write(temp_path)`, which must create and fully write the file at temp_path (the file already
/// exists, empty), then commits it to `target` as described above. When `write` throws, or any step
/// fails, the temporary file is removed, `target` is left as it was and the error propagates (an OS
/// failure becomes keel::Error naming the path and the reason; a missing directory, NotFoundError).
/// The new file gets the old target's permission bits when there was one (0666 & ~umask otherwise).
void write_atomically(const std::string& target, const std::function<void(const std::string& temp_path)>& write);

/// Writes `bytes` to the file at `path` (created or truncated), retrying short writes; keel::Error naming
/// `display_path` and the OS's reason when a write or the close fails (a full disk, a file size limit).
void write_file(const std::string& path, const std::string& bytes, const std::string& display_path);

}  // namespace keel::saving::detail
