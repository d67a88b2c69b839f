#include "io/hdf5.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

#include "keel/core/error.h"

namespace keel::saving::h5 {

namespace {

// The largest attribute read (what a damaged header claims is refused, not allocated): Keras's attributes
// are at most a few MiB of JSON.
constexpr size_t kAttributeBytes = size_t{1} << 26;

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

std::string join_path(const std::string& parent, const std::string& relative) {
  if (parent.empty() || parent == "/") return "/" + relative;
  return parent + "/" + relative;
}

// The file types h5py uses for NumPy's dtypes (little-endian, as NumPy's native order on x86-64 and ARM).
TypeId half_type() {
  // IEEE binary16 from the binary32 description: sign bit 15, exponent bits 10-14 (bias 15), mantissa 0-9.
  TypeId t(H5Tcopy(H5T_IEEE_F32LE));
  if (!t || H5Tset_fields(t.get(), 15, 10, 5, 0, 10) < 0 || H5Tset_size(t.get(), 2) < 0 ||
      H5Tset_ebias(t.get(), 15) < 0)
    return TypeId();
  return t;
}

TypeId bool_type() {
  // NumPy bool as h5py stores it: an 8-bit enum FALSE = 0, TRUE = 1.
  TypeId t(H5Tenum_create(H5T_NATIVE_INT8));
  const int8_t no = 0, yes = 1;
  if (!t || H5Tenum_insert(t.get(), "FALSE", &no) < 0 || H5Tenum_insert(t.get(), "TRUE", &yes) < 0) return TypeId();
  return t;
}

TypeId bfloat16_type() { return TypeId(H5Tcreate(H5T_OPAQUE, 2)); }

// The type a dataset of `dtype` is stored with.
TypeId file_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return TypeId(H5Tcopy(H5T_IEEE_F32LE));
    case DType::f64: return TypeId(H5Tcopy(H5T_IEEE_F64LE));
    case DType::f16: return half_type();
    case DType::bf16: return bfloat16_type();
    case DType::i32: return TypeId(H5Tcopy(H5T_STD_I32LE));
    case DType::i64: return TypeId(H5Tcopy(H5T_STD_I64LE));
    case DType::u8: return TypeId(H5Tcopy(H5T_STD_U8LE));
    case DType::b8: return bool_type();
  }
  return TypeId();
}

// The in-memory type of Keel's values of `dtype` (host order).
TypeId memory_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return TypeId(H5Tcopy(H5T_NATIVE_FLOAT));
    case DType::f64: return TypeId(H5Tcopy(H5T_NATIVE_DOUBLE));
    case DType::f16: return half_type();
    case DType::bf16: return bfloat16_type();
    case DType::i32: return TypeId(H5Tcopy(H5T_NATIVE_INT32));
    case DType::i64: return TypeId(H5Tcopy(H5T_NATIVE_INT64));
    case DType::u8: return TypeId(H5Tcopy(H5T_NATIVE_UINT8));
    case DType::b8: return bool_type();
  }
  return TypeId();
}

std::string describe_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t bits = H5Tget_size(type) * 8;
  switch (cls) {
    case H5T_INTEGER:
      return std::to_string(bits) + "-bit " + (H5Tget_sign(type) == H5T_SGN_NONE ? "unsigned " : "") + "integer";
    case H5T_FLOAT: return std::to_string(bits) + "-bit float";
    case H5T_STRING: return H5Tis_variable_str(type) > 0 ? "variable-length string" : "fixed-length string";
    case H5T_OPAQUE: return std::to_string(bits) + "-bit opaque";
    case H5T_ENUM: return std::to_string(bits) + "-bit enum";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    case H5T_BITFIELD: return std::to_string(bits) + "-bit bitfield";
    case H5T_TIME: return "time";
    default: return "unknown type";
  }
}

// The Keel dtype of a stored type: floats by size, integers by size and sign (narrower ones widen), the
// h5py bool enum, and 2-byte values tagged bfloat16.
std::optional<DType> keel_dtype(hid_t type, bool tagged_bfloat16) {
  const size_t size = H5Tget_size(type);
  if (tagged_bfloat16) return size == 2 ? std::optional<DType>(DType::bf16) : std::nullopt;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      if (size == 2) return DType::f16;
      if (size == 4) return DType::f32;
      if (size == 8) return DType::f64;
      return std::nullopt;
    case H5T_INTEGER:
      if (H5Tget_sign(type) == H5T_SGN_NONE) return size == 1 ? DType::u8 : DType::i64;
      return size <= 4 ? DType::i32 : DType::i64;
    case H5T_ENUM: {
      if (size != 1 || H5Tget_nmembers(type) != 2) return std::nullopt;
      // h5py's bool: members FALSE = 0 and TRUE = 1.
      int8_t values[2] = {-1, -1};
      for (unsigned i = 0; i < 2; ++i) {
        char* name = H5Tget_member_name(type, i);
        if (name == nullptr) return std::nullopt;
        const std::string n = name;
        H5free_memory(name);
        int8_t v = -1;
        if (H5Tget_member_value(type, i, &v) < 0) return std::nullopt;
        if (n == "FALSE") values[0] = v;
        if (n == "TRUE") values[1] = v;
      }
      if (values[0] == 0 && values[1] == 1) return DType::b8;
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

// A string attribute's text (variable- or fixed-length, any character set); nullopt when the attribute is
// not a single string. `ok` turns false when HDF5 fails to read it.
std::optional<std::string> read_string_attribute(hid_t attr, bool& ok) {
  ok = false;
  TypeId type(H5Aget_type(attr));
  SpaceId space(H5Aget_space(attr));
  if (!type || !space) return std::nullopt;
  ok = true;
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) return std::nullopt;
  ok = false;
  if (H5Tis_variable_str(type.get()) > 0) {
    // The memory type must have the file's character set: HDF5 does not convert between them.
    TypeId mem(H5Tcopy(H5T_C_S1));
    if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
      return std::nullopt;
    char* text = nullptr;
    if (H5Aread(attr, mem.get(), &text) < 0) return std::nullopt;
    ok = true;
    std::string out = text != nullptr ? text : "";
    if (text != nullptr) H5free_memory(text);
    return out;
  }
  if (H5Tget_size(type.get()) > kAttributeBytes) return std::nullopt;  // a damaged size, not a string to read
  std::vector<char> buf(H5Tget_size(type.get()) + 1, '\0');
  if (H5Aread(attr, type.get(), buf.data()) < 0) return std::nullopt;
  ok = true;
  return std::string(buf.data());
}

herr_t collect_error(unsigned, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  std::string text = err->desc != nullptr ? err->desc : "";
  char minor[256] = {0};
  if (H5Eget_msg(err->min_num, nullptr, minor, sizeof(minor)) > 0 && minor[0] != '\0') {
    std::string m = minor;
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    if (text.find(m) == std::string::npos) text += text.empty() ? m : " (" + m + ")";
  }
  if (!text.empty()) out->push_back(text);
  return 0;
}

}  // namespace

Hdf5Session::Hdf5Session() : lock_(hdf5_mutex()) {
  H5Eget_auto2(H5E_DEFAULT, &saved_func_, &saved_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Hdf5Session::~Hdf5Session() {
  H5Eclear2(H5E_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, saved_func_, saved_data_);
}

std::string last_error() {
  std::vector<std::string> parts;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &parts);  // innermost first
  H5Eclear2(H5E_DEFAULT);
  if (parts.empty()) return "HDF5 gave no reason";
  // The innermost entry says what actually went wrong; the outermost what was being done.
  std::string reason = parts.front();
  if (parts.size() > 1 && parts.back() != reason) reason = parts.back() + ": " + reason;
  return reason;
}

void fail(const FileContext& file, const std::string& what, const std::string& object) {
  const std::string message =
      what + (object.empty() ? "" : " '" + object + "'") + " in '" + file.display_path + "': " + last_error();
  if (file.writing) throw Error("Could not write weights file: " + message);
  throw ValueError("Invalid weights file: " + message);
}

// --- Dataset ---

Dataset::Dataset(DatasetId id, std::shared_ptr<const FileContext> file, std::string path)
    : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}

DatasetInfo Dataset::info() const {
  DatasetInfo info;
  TypeId type(H5Dget_type(id_.get()));
  if (!type) fail(*file_, "cannot read the type of dataset", path_);
  bool bf16 = false;
  const htri_t has_dtype = H5Aexists(id_.get(), "dtype");
  if (has_dtype < 0) fail(*file_, "cannot look up the attributes of dataset", path_);
  if (has_dtype > 0) {
    AttributeId attr(H5Aopen(id_.get(), "dtype", H5P_DEFAULT));
    bool ok = static_cast<bool>(attr);
    std::optional<std::string> text;
    if (ok) text = read_string_attribute(attr.get(), ok);
    if (!ok) fail(*file_, "cannot read attribute 'dtype' of dataset", path_);
    bf16 = text == "bfloat16";
  }
  info.dtype = keel_dtype(type.get(), bf16);
  info.type_description = bf16 ? "bfloat16" : describe_type(type.get());
  SpaceId space(H5Dget_space(id_.get()));
  if (!space) fail(*file_, "cannot read the shape of dataset", path_);
  const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  if (cls == H5S_SCALAR) return info;
  if (cls != H5S_SIMPLE) {
    throw ValueError("Invalid weights file: dataset '" + path_ + "' in '" + file_->display_path +
                     "' has no values (a null dataspace)");
  }
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(*file_, "cannot read the rank of dataset", path_);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    fail(*file_, "cannot read the shape of dataset", path_);
  uint64_t total = 1;
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(std::numeric_limits<int64_t>::max()) ||
        (d != 0 && total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / d))
      throw ValueError("Invalid weights file: dataset '" + path_ + "' in '" + file_->display_path +
                       "' has a shape too large to address");
    total *= d;
    info.shape.push_back(static_cast<int64_t>(d));
  }
  return info;
}

// HDF5 1.10 trusts a file's layout message: a contiguous dataset whose address or size points past the end
// of the file, or whose size disagrees with its shape and type, makes H5Dread copy out of bounds (seen with
// tools/fuzz/run). So before reading, the storage must be contiguous or compact (Keras and h5py write
// these; chunked storage has per-chunk addresses this check cannot bound), hold exactly shape × type size
// bytes, and lie inside the file.
void Dataset::check_storage() const {
  auto invalid = [&](const std::string& what) {
    throw ValueError("Invalid weights file: dataset '" + path_ + "' in '" + file_->display_path + "' " + what);
  };
  PropertyId dcpl(H5Dget_create_plist(id_.get()));
  if (!dcpl) fail(*file_, "cannot read the storage layout of dataset", path_);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT)
    invalid("uses chunked or virtual storage, which Keel does not read (Keras writes contiguous datasets)");
  TypeId type(H5Dget_type(id_.get()));
  SpaceId space(H5Dget_space(id_.get()));
  if (!type || !space) fail(*file_, "cannot read the type and shape of dataset", path_);
  const size_t type_size = H5Tget_size(type.get());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (type_size == 0 || count < 0) fail(*file_, "cannot read the type and shape of dataset", path_);
  const uint64_t n = static_cast<uint64_t>(count);
  if (n != 0 && type_size > std::numeric_limits<uint64_t>::max() / n) invalid("is too large to address");
  const uint64_t expected = n * type_size;
  const hsize_t stored = H5Dget_storage_size(id_.get());
  if (stored != expected)
    invalid("stores " + std::to_string(stored) + " bytes where its shape and type need " + std::to_string(expected));
  if (layout == H5D_CONTIGUOUS && expected != 0) {
    const haddr_t offset = H5Dget_offset(id_.get());
    FileId file(H5Iget_file_id(id_.get()));
    hsize_t file_size = 0;
    if (!file || H5Fget_filesize(file.get(), &file_size) < 0) fail(*file_, "cannot read the size of the file of dataset", path_);
    if (offset == HADDR_UNDEF || offset > file_size || expected > file_size - offset)
      invalid("has its values at bytes " + std::to_string(offset) + "+" + std::to_string(expected) +
              ", past the end of the file (" + std::to_string(file_size) + " bytes)");
  }
}

void Dataset::read(DType stored, void* out) const {
  check_storage();
  TypeId mem = memory_type(stored);
  if (!mem) fail(*file_, "cannot describe the memory type for dataset", path_);
  if (H5Dread(id_.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    fail(*file_, "cannot read dataset", path_);
}

// --- Group ---

Group::Group(GroupId id, std::shared_ptr<const FileContext> file, std::string path)
    : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}

std::string Group::child_path(const std::string& relative) const { return join_path(path_, relative); }

Group Group::create_group(const std::string& relative) const {
  PropertyId lcpl(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0)
    fail(*file_, "cannot set up the creation of group", child_path(relative));
  GroupId g(H5Gcreate2(id_.get(), relative.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g) fail(*file_, "cannot create group", child_path(relative));
  return Group(std::move(g), file_, child_path(relative));
}

Group Group::open_group(const std::string& relative) const {
  GroupId g(H5Gopen2(id_.get(), relative.c_str(), H5P_DEFAULT));
  if (!g) fail(*file_, "cannot open group", child_path(relative));
  return Group(std::move(g), file_, child_path(relative));
}

Dataset Group::open_dataset(const std::string& name) const {
  DatasetId d(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT));
  if (!d) fail(*file_, "cannot open dataset", child_path(name));
  return Dataset(std::move(d), file_, child_path(name));
}

ObjectKind Group::kind_of(const std::string& relative) const {
  // H5Lexists needs every intermediate link to exist: check the path one component at a time.
  std::string prefix;
  size_t start = 0;
  while (start <= relative.size()) {
    const size_t slash = relative.find('/', start);
    const std::string part = relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) return ObjectKind::missing;
    prefix += (prefix.empty() ? "" : "/") + part;
    const htri_t exists = H5Lexists(id_.get(), prefix.c_str(), H5P_DEFAULT);
    if (exists < 0) fail(*file_, "cannot look up", child_path(prefix));
    if (exists == 0) return ObjectKind::missing;
    if (slash == std::string::npos) break;
    // An intermediate component must be a group for the rest of the path to exist.
    ObjectId mid(H5Oopen(id_.get(), prefix.c_str(), H5P_DEFAULT));
    if (!mid) {
      H5Eclear2(H5E_DEFAULT);
      return ObjectKind::missing;  // e.g. a dangling soft link
    }
    if (H5Iget_type(mid.get()) != H5I_GROUP) return ObjectKind::missing;
    start = slash + 1;
  }
  ObjectId obj(H5Oopen(id_.get(), relative.c_str(), H5P_DEFAULT));
  if (!obj) {
    H5Eclear2(H5E_DEFAULT);
    return ObjectKind::missing;
  }
  switch (H5Iget_type(obj.get())) {
    case H5I_GROUP: return ObjectKind::group;
    case H5I_DATASET: return ObjectKind::dataset;
    default: return ObjectKind::other;
  }
}

std::vector<std::string> Group::member_names() const {
  H5G_info_t info;
  if (H5Gget_info(id_.get(), &info) < 0) fail(*file_, "cannot list group", path_);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail(*file_, "cannot list group", path_);
    std::string name(static_cast<size_t>(n) + 1, '\0');
    if (H5Lget_name_by_idx(id_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
      fail(*file_, "cannot list group", path_);
    name.resize(static_cast<size_t>(n));
    names.push_back(std::move(name));
  }
  return names;
}

void Group::write_string_attribute(const std::string& name, const std::string& value) const {
  TypeId type(H5Tcopy(H5T_C_S1));
  SpaceId space(H5Screate(H5S_SCALAR));
  if (!type || !space || H5Tset_size(type.get(), H5T_VARIABLE) < 0 || H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0)
    fail(*file_, "cannot describe attribute '" + name + "' of", path_);
  AttributeId attr(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) fail(*file_, "cannot create attribute '" + name + "' of", path_);
  const char* text = value.c_str();
  if (H5Awrite(attr.get(), type.get(), &text) < 0) fail(*file_, "cannot write attribute '" + name + "' of", path_);
}

std::optional<std::string> Group::string_attribute(const std::string& name) const {
  const htri_t exists = H5Aexists(id_.get(), name.c_str());
  if (exists < 0) fail(*file_, "cannot look up attribute '" + name + "' of", path_);
  if (exists == 0) return std::nullopt;
  AttributeId attr(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT));
  if (!attr) fail(*file_, "cannot open attribute '" + name + "' of", path_);
  bool ok = true;
  std::optional<std::string> text = read_string_attribute(attr.get(), ok);
  if (!ok) fail(*file_, "cannot read attribute '" + name + "' of", path_);
  return text;
}

bool Group::has_attribute(const std::string& name) const {
  const htri_t exists = H5Aexists(id_.get(), name.c_str());
  if (exists < 0) fail(*file_, "cannot look up attribute '" + name + "' of", path_);
  return exists > 0;
}

void Group::write_bytes_attribute(const std::string& name, const std::string& value) const {
  TypeId type(H5Tcopy(H5T_C_S1));
  SpaceId space(H5Screate(H5S_SCALAR));
  if (!type || !space || H5Tset_size(type.get(), std::max<size_t>(1, value.size())) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0)
    fail(*file_, "cannot describe attribute '" + name + "' of", path_);
  AttributeId attr(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) fail(*file_, "cannot create attribute '" + name + "' of", path_);
  std::string padded = value;
  padded.resize(std::max<size_t>(1, value.size()), '\0');
  if (H5Awrite(attr.get(), type.get(), padded.data()) < 0) fail(*file_, "cannot write attribute '" + name + "' of", path_);
}

void Group::write_bytes_list_attribute(const std::string& name, const std::vector<std::string>& values) const {
  const hsize_t count = values.size();
  SpaceId space(H5Screate_simple(1, &count, nullptr));
  if (!space) fail(*file_, "cannot describe attribute '" + name + "' of", path_);
  if (values.empty()) {
    AttributeId attr(H5Acreate2(id_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr) fail(*file_, "cannot create attribute '" + name + "' of", path_);
    return;
  }
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  TypeId type(H5Tcopy(H5T_C_S1));
  if (!type || H5Tset_size(type.get(), width) < 0 || H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0)
    fail(*file_, "cannot describe attribute '" + name + "' of", path_);
  std::string packed(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) packed.replace(i * width, values[i].size(), values[i]);
  AttributeId attr(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) fail(*file_, "cannot create attribute '" + name + "' of", path_);
  if (H5Awrite(attr.get(), type.get(), packed.data()) < 0) fail(*file_, "cannot write attribute '" + name + "' of", path_);
}

std::optional<std::vector<std::string>> Group::string_list_attribute(const std::string& name) const {
  if (!has_attribute(name)) return std::nullopt;
  AttributeId attr(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT));
  TypeId type(attr ? H5Aget_type(attr.get()) : H5I_INVALID_HID);
  SpaceId space(attr ? H5Aget_space(attr.get()) : H5I_INVALID_HID);
  if (!attr || !type || !space) fail(*file_, "cannot open attribute '" + name + "' of", path_);
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (points < 0 || rank < 0) fail(*file_, "cannot read the shape of attribute '" + name + "' of", path_);
  auto invalid = [&](const std::string& what) -> std::vector<std::string> {
    throw ValueError("Invalid attribute '" + name + "' of '" + path_ + "' in '" + file_->display_path + "': " + what);
  };
  if (points == 0) return std::vector<std::string>{};  // h5py's empty list: an empty (float64) array
  if (rank > 1) return invalid("expected a list of strings, got an array of rank " + std::to_string(rank));
  if (H5Tget_class(type.get()) != H5T_STRING)
    return invalid("expected a list of strings, got " + describe_type(type.get()) + " values");
  const auto count = static_cast<size_t>(points);
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    TypeId mem(H5Tcopy(H5T_C_S1));
    if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
      fail(*file_, "cannot describe attribute '" + name + "' of", path_);
    std::vector<char*> texts(count, nullptr);
    if (H5Aread(attr.get(), mem.get(), texts.data()) < 0) fail(*file_, "cannot read attribute '" + name + "' of", path_);
    for (char* t : texts) {
      out.emplace_back(t != nullptr ? t : "");
      if (t != nullptr) H5free_memory(t);
    }
    return out;
  }
  const size_t width = H5Tget_size(type.get());
  // An attribute lives in an object header (at most 64 KiB) or dense storage; refuse sizes no writer makes
  // rather than allocate what a damaged header claims.
  if (width == 0 || count > kAttributeBytes / width) return invalid("its size is not plausible");
  std::vector<char> buffer(width * count, '\0');
  if (H5Aread(attr.get(), type.get(), buffer.data()) < 0) fail(*file_, "cannot read attribute '" + name + "' of", path_);
  for (size_t i = 0; i < count; ++i) {
    const char* begin = buffer.data() + i * width;
    out.emplace_back(begin, strnlen(begin, width));
  }
  return out;
}

void Group::write_dataset(const std::string& name, DType dtype, const Shape& shape, const void* data) const {
  TypeId ftype = file_type(dtype);
  TypeId mtype = memory_type(dtype);
  if (!ftype || !mtype) fail(*file_, "cannot describe the type of dataset", child_path(name));
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  SpaceId space(shape.empty() ? H5Screate(H5S_SCALAR)
                              : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (!space) fail(*file_, "cannot describe the shape of dataset", child_path(name));
  // Legacy Keras names datasets by variable path ("sequential/dense/kernel"): intermediate groups are made.
  PropertyId lcpl(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0)
    fail(*file_, "cannot set up the creation of dataset", child_path(name));
  DatasetId d(H5Dcreate2(id_.get(), name.c_str(), ftype.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!d) fail(*file_, "cannot create dataset", child_path(name));
  if (shape_numel(shape) > 0 && H5Dwrite(d.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(*file_, "cannot write dataset", child_path(name));
  if (dtype == DType::bf16) {
    // Keras marks bfloat16 values (which NumPy and HDF5 have no type for) with this attribute.
    TypeId stype(H5Tcopy(H5T_C_S1));
    SpaceId sspace(H5Screate(H5S_SCALAR));
    if (!stype || !sspace || H5Tset_size(stype.get(), H5T_VARIABLE) < 0 || H5Tset_cset(stype.get(), H5T_CSET_UTF8) < 0)
      fail(*file_, "cannot describe the dtype attribute of dataset", child_path(name));
    AttributeId attr(H5Acreate2(d.get(), "dtype", stype.get(), sspace.get(), H5P_DEFAULT, H5P_DEFAULT));
    const char* text = "bfloat16";
    if (!attr || H5Awrite(attr.get(), stype.get(), &text) < 0)
      fail(*file_, "cannot write the dtype attribute of dataset", child_path(name));
  }
  if (!d.reset()) fail(*file_, "cannot close dataset", child_path(name));
}

// --- File ---

File::File(FileId id, std::shared_ptr<const FileContext> context, std::unique_ptr<ClosedImage> closed)
    : closed_(std::move(closed)), id_(std::move(id)), context_(std::move(context)) {}

namespace {

// File image callbacks for the core driver that remember each block's size and keep the bytes of the
// block HDF5 frees when it closes the file: the finished file.
using ClosedImage = File::ClosedImage;
void forget_block(ClosedImage* c, void* p) {
  c->blocks.erase(std::remove_if(c->blocks.begin(), c->blocks.end(), [p](const auto& b) { return b.first == p; }),
                  c->blocks.end());
}
void* image_malloc(size_t size, H5FD_file_image_op_t, void* udata) {
  void* p = std::malloc(size);
  if (p != nullptr) static_cast<ClosedImage*>(udata)->blocks.emplace_back(p, size);
  return p;
}
void* image_memcpy(void* dest, const void* src, size_t size, H5FD_file_image_op_t, void*) {
  return std::memcpy(dest, src, size);
}
void* image_realloc(void* ptr, size_t size, H5FD_file_image_op_t, void* udata) {
  auto* c = static_cast<ClosedImage*>(udata);
  auto block = std::find_if(c->blocks.begin(), c->blocks.end(), [ptr](const auto& b) { return b.first == ptr; });
  void* p = std::realloc(ptr, size);
  if (p == nullptr) return p;
  if (block != c->blocks.end()) *block = {p, size};
  else c->blocks.emplace_back(p, size);
  return p;
}
herr_t image_free(void* ptr, H5FD_file_image_op_t op, void* udata) {
  auto* c = static_cast<ClosedImage*>(udata);
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && ptr != nullptr)
    for (const auto& [p, size] : c->blocks)
      if (p == ptr) c->bytes.assign(static_cast<const char*>(p), size);
  forget_block(c, ptr);
  std::free(ptr);
  return 0;
}
void* udata_copy(void* udata) { return udata; }
herr_t udata_free(void*) { return 0; }

}  // namespace

File File::create_in_memory(const std::string& display_path) { return create(display_path, false); }

File File::create_in_memory_large_attributes(const std::string& display_path) { return create(display_path, true); }

File File::create(const std::string& display_path, bool large_attributes) {
  auto context = std::make_shared<FileContext>(FileContext{display_path, true});
  PropertyId fapl(H5Pcreate(H5P_FILE_ACCESS));
  // Grow the image 1 MiB at a time (64 KiB when the image is the closed file's, trailing zeros included); no
  // backing store: the bytes stay in memory until close_to_image().
  const size_t increment = large_attributes ? 1 << 16 : 1 << 20;
  if (!fapl || H5Pset_fapl_core(fapl.get(), increment, 0) < 0) fail(*context, "cannot set up an in-memory file", "");
  std::unique_ptr<ClosedImage> closed;
  if (large_attributes) {
    closed = std::make_unique<ClosedImage>();
    H5FD_file_image_callbacks_t callbacks = {image_malloc, image_memcpy, image_realloc, image_free,
                                             udata_copy,   udata_free,   closed.get()};
    if (H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_file_image_callbacks(fapl.get(), &callbacks) < 0)
      fail(*context, "cannot set up an in-memory file", "");
  }
  // The name only identifies the in-memory file inside HDF5; nothing is created under it.
  FileId id(H5Fcreate(display_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!id) fail(*context, "cannot create the file", "");
  return File(std::move(id), std::move(context), std::move(closed));
}

// Note [Containing libhdf5's crashes]
// HDF5 1.10 trusts a file's metadata: fuzzing (tools/fuzz/run) found damaged B-trees and local heaps that
// make it read out of bounds (SIGSEGV in H5F__accum_read via H5B_find, H5HL_protect) or allocate what a
// damaged header claims. Such a crash cannot be caught in-process, so before a file is opened here, a child
// process opens it and walks all of its metadata -- every group's links, every object's attributes (read),
// every dataset's type, shape and storage -- which is everything the readers above touch. If the child
// dies from a signal (or runs past a minute), the file is refused with a ValueError; if it finishes, the
// file is opened in this process. Values are not read by the child: Dataset::check_storage bounds them.
// Damaged sizes can also make HDF5 allocate gigabytes (then the machine, not the file, fails): the child
// may use 1 GiB more than this process, and a file whose metadata needs more (HDF5 reports a failed
// allocation) is refused the same way.
namespace {

constexpr int kProbeDepth = 64;             // nesting of groups (links can form cycles)
constexpr size_t kProbeObjects = 1 << 20;   // objects visited at most
constexpr size_t kProbeBytes = size_t{1} << 28;  // attribute bytes read at most
constexpr rlim_t kProbeMemory = rlim_t{1} << 30;  // memory the child may allocate beyond the parent's

// Set in the child when HDF5 reports a failed allocation.
bool probe_out_of_memory = false;

herr_t note_resource_error(unsigned, const H5E_error2_t* err, void*) {
  if (err->maj_num == H5E_RESOURCE) probe_out_of_memory = true;
  return 0;
}

// The child's error handler (HDF5 calls it when an API call fails): looks for failed allocations.
herr_t on_probe_error(hid_t stack, void*) {
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, note_resource_error, nullptr);
  return 0;
}

// Data size of this process (VmData), in bytes; 0 when unknown.
rlim_t data_size() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "VmData: %llu kB", &kib) == 1) break;
  std::fclose(f);
  return static_cast<rlim_t>(kib) * 1024;
}

struct ProbeState {
  size_t objects = 0;
  size_t bytes = 0;
};

herr_t probe_attribute(hid_t location, const char* name, const H5A_info_t*, void* data) {
  auto* state = static_cast<ProbeState*>(data);
  AttributeId attr(H5Aopen(location, name, H5P_DEFAULT));
  if (!attr) return 0;
  TypeId type(H5Aget_type(attr.get()));
  SpaceId space(H5Aget_space(attr.get()));
  if (!type || !space) return 0;
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  const size_t size = H5Tget_size(type.get());
  if (points <= 0 || size == 0 || static_cast<size_t>(points) > (kProbeBytes - state->bytes) / size) return 0;
  state->bytes += static_cast<size_t>(points) * size;
  if (H5Tget_class(type.get()) == H5T_STRING && H5Tis_variable_str(type.get()) > 0) {
    TypeId mem(H5Tcopy(H5T_C_S1));
    if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
      return 0;
    std::vector<char*> texts(static_cast<size_t>(points), nullptr);
    if (H5Aread(attr.get(), mem.get(), texts.data()) >= 0)
      for (char* t : texts)
        if (t != nullptr) H5free_memory(t);
    return 0;
  }
  if (H5Tget_class(type.get()) == H5T_VLEN || H5Tget_class(type.get()) == H5T_REFERENCE) return 0;  // not ours
  std::vector<char> buffer(static_cast<size_t>(points) * size);
  H5Aread(attr.get(), type.get(), buffer.data());
  return 0;
}

void probe_object(hid_t object, int depth, ProbeState& state) {
  if (++state.objects > kProbeObjects) return;
  hsize_t index = 0;
  H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, probe_attribute, &state);
  switch (H5Iget_type(object)) {
    case H5I_DATASET: {
      TypeId type(H5Dget_type(object));
      SpaceId space(H5Dget_space(object));
      if (space) H5Sget_simple_extent_npoints(space.get());
      PropertyId dcpl(H5Dget_create_plist(object));
      if (dcpl) H5Pget_layout(dcpl.get());
      H5Dget_offset(object);
      H5Dget_storage_size(object);
      return;
    }
    case H5I_GROUP: {
      if (depth >= kProbeDepth) return;
      H5G_info_t info;
      if (H5Gget_info(object, &info) < 0) return;
      for (hsize_t i = 0; i < info.nlinks && state.objects <= kProbeObjects; ++i) {
        const ssize_t n = H5Lget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (n < 0) continue;
        std::string name(static_cast<size_t>(n) + 1, '\0');
        if (H5Lget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
          continue;
        name.resize(static_cast<size_t>(n));
        if (H5Lexists(object, name.c_str(), H5P_DEFAULT) <= 0) continue;
        ObjectId child(H5Oopen(object, name.c_str(), H5P_DEFAULT));
        if (child) probe_object(child.get(), depth + 1, state);
      }
      return;
    }
    default: return;
  }
}

// How long the metadata walk of a file of `bytes` may take: 2 s, plus a second for each 16 MiB (reading the
// whole file at that rate). Metadata that takes longer loops inside HDF5 (found by fuzzing: such files
// used to cost a minute each).
int probe_deadline_ms(uint64_t bytes) { return static_cast<int>(2000 + std::min<uint64_t>(bytes >> 24, 3600) * 1000); }

// Opens the file with `open` and walks it in a child process; ValueError when the child crashes or does not
// finish within probe_deadline_ms(bytes).
void refuse_if_hdf5_crashes(const FileContext& file, uint64_t bytes, const std::function<hid_t()>& open) {
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = ::fork();
  if (pid < 0) return;  // cannot contain it: read as before
  if (pid == 0) {
    // Its crash is expected and reported by the parent: nothing of it (a sanitizer's report) on stderr.
    if (const int null_fd = ::open("/dev/null", O_WRONLY); null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);
    if (const rlim_t used = data_size(); used > 0) {
      const struct rlimit limit = {used + kProbeMemory, used + kProbeMemory};
      ::setrlimit(RLIMIT_DATA, &limit);
    }
    // Nothing may leave this block: an exception unwinding out of it would run the rest of the parent's
    // program a second time, in the child.
    try {
      H5Eset_auto2(H5E_DEFAULT, on_probe_error, nullptr);
      const hid_t id = open();
      if (probe_out_of_memory) ::_exit(3);
      if (id < 0) ::_exit(1);  // a plain failure: the parent reports it
      ProbeState state;
      GroupId root(H5Gopen2(id, "/", H5P_DEFAULT));
      if (root) probe_object(root.get(), 0, state);
    } catch (const std::bad_alloc&) {
      ::_exit(3);
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(probe_out_of_memory ? 3 : 0);  // no HDF5 clean-up, no atexit handlers of the parent's
  }
  int status = 0;
  const int deadline_ms = probe_deadline_ms(bytes);
  for (int waited_ms = 0;; waited_ms += 2) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return;
    if (waited_ms >= deadline_ms) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw ValueError("Invalid weights file: '" + file.display_path +
                       "' is damaged: reading its HDF5 metadata did not finish within " +
                       std::to_string(deadline_ms / 1000) + " s (HDF5 loops on it)");
    }
    ::usleep(2000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
    throw ValueError("Invalid weights file: '" + file.display_path +
                     "' is damaged: its HDF5 metadata claims sizes that would need more than 1 GiB of memory to read");
  if (WIFSIGNALED(status))
    throw ValueError("Invalid weights file: '" + file.display_path +
                     "' is damaged: its HDF5 metadata makes the HDF5 library crash (signal " +
                     std::to_string(WTERMSIG(status)) + " in a process that checked it), so it is not read");
  // 0: the walk finished; 1: HDF5 could not open it (the caller reports HDF5's reason). Any other end is
  // a failure of the check itself (a sanitizer's or fuzzer's exit code under a fuzzer), never a pass.
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)
    throw ValueError("Invalid weights file: '" + file.display_path +
                     "' is damaged: the process that checked its HDF5 metadata ended abnormally (exit status " +
                     std::to_string(WEXITSTATUS(status)) + "), so it is not read");
}

}  // namespace

File File::open_read(const std::string& path) {
  auto context = std::make_shared<FileContext>(FileContext{path, false});
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw NotFoundError("Weights file not found: '" + path + "'");
    throw Error("Cannot read weights file '" + path + "': " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) throw ValueError("Invalid weights file: '" + path + "' is a directory, not an HDF5 file");
  refuse_if_hdf5_crashes(*context, static_cast<uint64_t>(st.st_size),
                         [&] { return H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT); });
  FileId id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!id) {
    const std::string reason = last_error();
    if (reason.find("signature") != std::string::npos)
      throw ValueError("Invalid weights file: '" + path + "' is not an HDF5 file (no HDF5 file signature found)");
    throw ValueError("Invalid weights file: cannot open '" + path +
                     "' as HDF5 (the file may be truncated or damaged): " + reason);
  }
  return File(std::move(id), std::move(context));
}

File File::open_image(const std::string& image, const std::string& display_path) {
  auto context = std::make_shared<FileContext>(FileContext{display_path, false});
  if (image.size() < 8 || image.compare(0, 8, "\x89HDF\r\n\x1a\n") != 0)
    throw ValueError("Invalid weights file: '" + display_path + "' is not an HDF5 file (no HDF5 file signature found)");
  PropertyId fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl || H5Pset_fapl_core(fapl.get(), 1 << 20, 0) < 0) fail(*context, "cannot set up an in-memory file", "");
  // HDF5 copies the image; the name only identifies the in-memory file inside HDF5.
  if (H5Pset_file_image(fapl.get(), const_cast<char*>(image.data()), image.size()) < 0)
    fail(*context, "cannot set up an in-memory file", "");
  refuse_if_hdf5_crashes(*context, image.size(),
                         [&] { return H5Fopen(display_path.c_str(), H5F_ACC_RDONLY, fapl.get()); });
  FileId id(H5Fopen(display_path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!id)
    throw ValueError("Invalid weights file: cannot open '" + display_path +
                     "' as HDF5 (the file may be truncated or damaged): " + last_error());
  return File(std::move(id), std::move(context));
}

Group File::root() const {
  GroupId g(H5Gopen2(id_.get(), "/", H5P_DEFAULT));
  if (!g) fail(*context_, "cannot open the root group", "/");
  return Group(std::move(g), context_, "/");
}

std::string File::close_to_image() {
  if (H5Fflush(id_.get(), H5F_SCOPE_LOCAL) < 0) fail(*context_, "cannot flush the file", "");
  if (closed_) {  // the image HDF5 leaves as it closes (trailing zeros past the end of the data are harmless)
    close();
    KEEL_CHECK(!closed_->bytes.empty(), Error, "Cannot take the image of '", context_->display_path,
               "': HDF5 released no file image on close");
    return std::move(closed_->bytes);
  }
  const ssize_t size = H5Fget_file_image(id_.get(), nullptr, 0);
  if (size < 0) fail(*context_, "cannot take the image of the file", "");
  std::string image(static_cast<size_t>(size), '\0');
  if (H5Fget_file_image(id_.get(), image.data(), image.size()) != size)
    fail(*context_, "cannot take the image of the file", "");
  close();
  return image;
}

void File::close() {
  if (id_ && !id_.reset()) fail(*context_, "cannot close the file", "");
}

}  // namespace keel::saving::h5
