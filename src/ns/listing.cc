// Store::List: an in-order walk of a container's tree.
//
// Within one directory, entries are ordered by key, where a directory's key
// is its name followed by '/'. A depth-first walk in that order yields blob
// names in byte order across the whole tree, so a page starts with one
// lower_bound per level and costs O(page + depth * directory size).
#include <algorithm>

#include "common/strings.h"
#include "ns/store.h"

namespace strata::ns {

namespace {

struct Entry {
  std::string key;  // name, plus '/' for directories
  bool is_dir;      // the directory's entries, keyed "name/"
  bool dir_item = false;  // the directory itself as an item, keyed "name"
};

struct Level {
  std::string rel;  // directory path relative to the container, "" or "a/b/"
  std::vector<Entry> entries;
  size_t pos = 0;
};

}  // namespace

Result<ListPage> Store::List(const std::string& c, const std::string& prefix,
                             const std::string& delimiter, const std::string& marker,
                             size_t max) {
  std::string cdir = ContainerDir(c);
  auto cst = fs_->Stat(cdir);
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);

  const std::string start = std::max(prefix, marker);
  const bool slash_delim = delimiter == "/";
  ListPage page;
  std::vector<Level> stack;

  auto load = [&](const std::string& rel) -> Status {
    auto entries = fs_->ListDir(rel.empty() ? cdir : cdir + "/" + rel.substr(0, rel.size() - 1));
    if (!entries.ok()) {
      if (entries.status().kind() == ErrorKind::kNotFound) {
        stack.push_back(Level{rel, {}, 0});
        return Status::Ok();
      }
      return entries.status();
    }
    Level lvl;
    lvl.rel = rel;
    for (auto& e : *entries) {
      if (rel.empty() && IsReservedName(c, e.name)) continue;
      if (e.is_dir) {
        lvl.entries.push_back({e.name, false, true});
        lvl.entries.push_back({e.name + "/", true});
      } else if (e.is_file) {
        lvl.entries.push_back({std::move(e.name), false});
      }
    }
    std::sort(lvl.entries.begin(), lvl.entries.end(),
              [](const Entry& a, const Entry& b) { return a.key < b.key; });
    // Position at the first entry that can hold names >= start.
    std::string_view want;
    if (start.size() > rel.size() && StartsWith(start, rel)) want = std::string_view(start).substr(rel.size());
    if (!want.empty()) {
      auto it = std::lower_bound(lvl.entries.begin(), lvl.entries.end(), want,
                                 [](const Entry& e, std::string_view w) { return e.key < w; });
      if (it != lvl.entries.begin()) {
        auto prev = std::prev(it);
        if (prev->is_dir && StartsWith(want, prev->key)) it = prev;
      }
      lvl.pos = static_cast<size_t>(it - lvl.entries.begin());
    }
    stack.push_back(std::move(lvl));
    return Status::Ok();
  };

  // A prefix with a '/' names a directory ("a/b/" of "a/b/c"): every match
  // lies under it, so the walk starts there instead of reading and sorting
  // each level above it for every page (a per-directory walk of a large
  // tree would otherwise read the container's top level once per request).
  std::string base_rel;
  if (size_t last = prefix.rfind('/'); last != std::string::npos) {
    base_rel = prefix.substr(0, last + 1);
    std::string dir = cdir;
    for (size_t pos = 0; pos < base_rel.size();) {
      size_t slash = base_rel.find('/', pos);
      std::string_view comp(base_rel.data() + pos, slash - pos);
      // Only plain directories on the way, as the walk from the top would
      // see them: no empty, "." or ".." segment, no symlink.
      if (comp.empty() || comp == "." || comp == "..") return page;
      // Nor a view's own .strata, which the walk from the top skips.
      if (pos == 0 && IsReservedName(c, std::string(comp))) return page;
      dir += '/';
      dir += comp;
      auto st = fs_->Stat(dir);
      if (!st.ok() || !st->is_dir()) return page;
      pos = slash + 1;
    }
  }
  STRATA_RETURN_IF_ERROR(load(base_rel));
  std::string last_prefix;
  while (!stack.empty()) {
    Level& lvl = stack.back();
    if (lvl.pos >= lvl.entries.size()) {
      stack.pop_back();
      continue;
    }
    const Entry& e = lvl.entries[lvl.pos++];
    std::string name = lvl.rel + e.key;
    // Past every name with the prefix: done.
    if (name > prefix && !StartsWith(name, prefix) && !StartsWith(prefix, name)) break;
    if (e.is_dir) {
      if (!StartsWith(name, prefix) && !StartsWith(prefix, name)) continue;
      if (name < start && !StartsWith(start, name)) continue;
      // When the marker points inside this directory, only its names from
      // the marker on count: walk it (below) rather than collapse it whole.
      const bool start_inside = name < start;
      if (slash_delim && !start_inside && name.size() > prefix.size() &&
          StartsWith(name, prefix)) {
        // Whole directory collapses to one prefix (up to the first '/'
        // after the prefix); never read it.
        std::string p = name.substr(0, name.find('/', prefix.size()) + 1);
        if (p == last_prefix) continue;
        if (page.items.size() == max) {
          page.next_marker = name;
          return page;
        }
        page.items.push_back(ListItem{p, true, false, {}});
        last_prefix = std::move(p);
        continue;
      }
      std::string rel = name;
      STRATA_RETURN_IF_ERROR(load(rel));
      continue;
    }
    if (name < start || !StartsWith(name, prefix)) continue;
    if (!delimiter.empty()) {
      size_t pos = name.find(delimiter, prefix.size());
      if (pos != std::string::npos) {
        std::string p = name.substr(0, pos + delimiter.size());
        if (p == last_prefix) continue;
        if (page.items.size() == max) {
          page.next_marker = name;
          return page;
        }
        page.items.push_back(ListItem{p, true, false, {}});
        last_prefix = p;
        // Whatever is left of the directories below p collapses into p too.
        while (!stack.empty() && stack.back().rel.size() >= p.size() &&
               StartsWith(stack.back().rel, p))
          stack.pop_back();
        continue;
      }
    }
    if (page.items.size() == max) {
      page.next_marker = name;
      return page;
    }
    std::string path = cdir + "/" + name;
    auto st = fs_->Stat(path);
    ListItem item;
    item.name = name;
    if (e.dir_item) {
      if (!st.ok() || !st->is_dir()) continue;  // raced with a delete
      PathInfo dir = DirInfo(c, name, *st);
      item.is_dir = true;
      item.info.name = name;
      item.info.rec = std::move(dir.rec);
      item.info.st = *st;
      item.info.st.size = 0;
      item.info.has_record = dir.explicit_dir;
      if (item.info.rec.content_type.empty()) item.info.rec.content_type = "application/octet-stream";
    } else {
      if (!st.ok() || !st->is_file()) continue;  // raced with a delete
      item.info = InfoFromFile(path, c, name, *st);
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

}  // namespace strata::ns
