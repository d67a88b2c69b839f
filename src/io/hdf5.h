// A small RAII layer over the HDF5 C API, for the io module's weight files: files, groups, string
// attributes and datasets of Keel's dtypes. HDF5 stays inside src/io (no public header includes hdf5.h).
//
// Every call runs under an Hdf5Session (one at a time per process: the serial HDF5 library is not
// thread-safe), which also turns HDF5's automatic error printing off. A failed HDF5 call becomes a keel
// error naming the file (as the user named it), the object path inside it and what HDF5 reported:
// ValueError while reading (the file's content is wrong), Error while writing (the write failed).
//   Hdf5Session session;
//   h5::File f = h5::File::create_in_memory("model.weights.h5");
//   {
//     h5::Group g = f.root().create_group("layers/dense/vars");
//     g.write_string_attribute("name", "dense");
//     g.write_dataset("0", DType::f32, {4, 5}, data);
//   }
//   std::string bytes = f.close_to_image();  // what to write to disk
#pragma once
#include <hdf5.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"

namespace keel::saving::h5 {

/// Serialises HDF5 use in this process and silences HDF5's error printing (restored afterwards).
class Hdf5Session {
 public:
  Hdf5Session();
  ~Hdf5Session();
  Hdf5Session(const Hdf5Session&) = delete;
  Hdf5Session& operator=(const Hdf5Session&) = delete;

 private:
  std::unique_lock<std::recursive_mutex> lock_;
  H5E_auto2_t saved_func_ = nullptr;
  void* saved_data_ = nullptr;
};

/// Owns one HDF5 identifier and closes it with `Close`.
template <herr_t (*Close)(hid_t)>
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  ~Id() { reset(); }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& other) noexcept : id_(other.release()) {}
  Id& operator=(Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.release();
    }
    return *this;
  }
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  hid_t release() {
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  /// Closes now; false when HDF5 reports a failure (e.g. data that could not be flushed).
  bool reset() {
    bool ok = true;
    if (id_ >= 0) ok = Close(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using FileId = Id<H5Fclose>;
using GroupId = Id<H5Gclose>;
using DatasetId = Id<H5Dclose>;
using AttributeId = Id<H5Aclose>;
using SpaceId = Id<H5Sclose>;
using TypeId = Id<H5Tclose>;
using PropertyId = Id<H5Pclose>;
using ObjectId = Id<H5Oclose>;

/// What the error stack says about the last failed call ("file signature not found"); clears it.
std::string last_error();

/// The file an object lives in, for messages and for choosing the error type.
struct FileContext {
  std::string display_path;  // the path the user gave (not a temporary file's)
  bool writing = false;
};

/// Throws the context's error type: "<what> '<object>' in '<file>': <HDF5's reason>".
[[noreturn]] void fail(const FileContext& file, const std::string& what, const std::string& object);

/// How a dataset stores its values.
struct DatasetInfo {
  /// The Keel dtype whose values the dataset holds (bfloat16: 2-byte values with attribute dtype="bfloat16",
  /// as Keras writes them); nullopt for strings, compounds and other types Keel has no dtype for.
  std::optional<DType> dtype;
  /// HDF5's description of the stored type ("32-bit float", "variable-length string", ...).
  std::string type_description;
  Shape shape;  // {} for a scalar
};

enum class ObjectKind { missing, group, dataset, other };

class Group;

class Dataset {
 public:
  Dataset(DatasetId id, std::shared_ptr<const FileContext> file, std::string path);
  const std::string& path() const { return path_; }
  /// Type and shape; ValueError for a dataspace that is not simple (null) or too large to address.
  DatasetInfo info() const;
  /// Reads every element as `info().dtype` (which must be set) into `out` (numel(shape) elements of that dtype).
  void read(DType stored, void* out) const;

 private:
  /// ValueError unless the values are stored contiguously (or compactly), in exactly the bytes the shape
  /// and type need, inside the file: HDF5 1.10 does not check this itself.
  void check_storage() const;

  DatasetId id_;
  std::shared_ptr<const FileContext> file_;
  std::string path_;
};

class Group {
 public:
  Group(GroupId id, std::shared_ptr<const FileContext> file, std::string path);
  const std::string& path() const { return path_; }

  /// Creates a group at `relative` below this one, with any missing intermediate groups.
  Group create_group(const std::string& relative) const;
  /// Opens an existing group (fails with the reason when missing or not a group).
  Group open_group(const std::string& relative) const;
  Dataset open_dataset(const std::string& name) const;
  /// What `relative` names below this group (missing when any part of the path is absent).
  ObjectKind kind_of(const std::string& relative) const;
  /// The names of this group's direct members, in HDF5's (alphabetical) order.
  std::vector<std::string> member_names() const;

  /// A scalar variable-length UTF-8 string attribute, as h5py writes a Python str.
  void write_string_attribute(const std::string& name, const std::string& value) const;
  /// The attribute's text (variable- or fixed-length string); nullopt when absent or not a string.
  std::optional<std::string> string_attribute(const std::string& name) const;
  bool has_attribute(const std::string& name) const;
  /// A scalar fixed-length byte string, as h5py stores a Python `bytes` value (legacy Keras's JSON attributes).
  void write_bytes_attribute(const std::string& name, const std::string& value) const;
  /// A 1-D array of fixed-length byte strings padded with NULs, as h5py stores a list of `bytes` (NumPy
  /// `S<n>`); an empty list is stored as h5py stores `np.asarray([])`, an empty float64 array.
  void write_bytes_list_attribute(const std::string& name, const std::vector<std::string>& values) const;
  /// The strings of a string attribute (scalar or 1-D, fixed- or variable-length); an empty array of any
  /// type reads as an empty list. nullopt when absent; ValueError naming the attribute for another type.
  std::optional<std::vector<std::string>> string_list_attribute(const std::string& name) const;

  /// A contiguous dataset of `shape` (scalar for {}) holding `data` (numel(shape) elements of `dtype`),
  /// stored as h5py stores the matching NumPy dtype (bfloat16: 2-byte opaque values, attribute dtype="bfloat16").
  /// `name` may be a path below this group ("dense/kernel:0"); missing groups on the way are created.
  void write_dataset(const std::string& name, DType dtype, const Shape& shape, const void* data) const;

 private:
  std::string child_path(const std::string& relative) const;

  GroupId id_;
  std::shared_ptr<const FileContext> file_;
  std::string path_;
};

class File {
 public:
  /// Creates a file in memory (HDF5's core driver, nothing written to disk); take its bytes with
  /// close_to_image(). `display_path` names it in messages. Writing to memory and then to disk ourselves
  /// keeps HDF5 away from failing disk writes: HDF5 1.10 cannot close a file whose flush failed and then
  /// crashes at exit (H5_term_library) trying again.
  static File create_in_memory(const std::string& display_path);
  /// The same, in HDF5 1.8's file format, which stores attributes larger than 64 KiB (older readers
  /// cannot): for legacy Keras files whose JSON attributes outgrow the original format. HDF5 1.10's
  /// H5Fget_file_image gives such files a wrong superblock checksum, so their image is taken as the file
  /// closes instead (the core driver's buffer, through file image callbacks).
  static File create_in_memory_large_attributes(const std::string& display_path);
  /// Opens `path` read-only: NotFoundError when it does not exist, ValueError when it is not a readable
  /// HDF5 file (truncated, another format, a directory).
  static File open_read(const std::string& path);
  /// Opens an HDF5 file image held in memory (e.g. `model.weights.h5` inside a `.keras` archive)
  /// read-only; `display_path` names it in messages. ValueError when the bytes are not a readable file.
  static File open_image(const std::string& image, const std::string& display_path);

  Group root() const;
  /// The complete file as bytes (a file from create_in_memory); closes it. Objects opened from the file
  /// must be closed (destroyed) before.
  std::string close_to_image();
  /// Closes; the destructor does it silently.
  void close();
  const FileContext& context() const { return *context_; }

  /// The core driver's memory as HDF5 frees it when the file closes (see create_in_memory_large_attributes).
  struct ClosedImage {
    std::vector<std::pair<void*, size_t>> blocks;  // live allocations and their sizes
    std::string bytes;
  };

 private:
  File(FileId id, std::shared_ptr<const FileContext> context, std::unique_ptr<ClosedImage> closed = nullptr);
  static File create(const std::string& display_path, bool large_attributes);
  std::unique_ptr<ClosedImage> closed_;  // declared before id_: it outlives the file's close in ~File
  FileId id_;
  std::shared_ptr<const FileContext> context_;
};

}  // namespace keel::saving::h5
