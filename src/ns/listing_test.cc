// Store::List against a brute-force model of Azure's List Blobs on an HNS
// account: the sorted names (each blob, and each directory as a name of its
// own) under a prefix, each name that holds the delimiter after the prefix
// collapsed into one BlobPrefix (prefix + up to and including the first
// delimiter), pages of at most maxresults items chained by NextMarker with
// no duplicate and no gap.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "fs/testing/temp_dir.h"
#include "ns/store.h"

namespace strata::ns {
namespace {

struct Item {
  std::string name;
  bool is_prefix;
  bool operator==(const Item& o) const { return name == o.name && is_prefix == o.is_prefix; }
};

std::ostream& operator<<(std::ostream& os, const Item& it) {
  return os << (it.is_prefix ? "P:" : "B:") << it.name;
}

std::vector<Item> Model(const std::vector<std::string>& sorted, const std::string& prefix,
                        const std::string& delim, const std::string& marker = "") {
  std::vector<Item> out;
  for (const auto& n : sorted) {
    if (n.compare(0, prefix.size(), prefix) != 0 || n < marker) continue;
    size_t pos = delim.empty() ? std::string::npos : n.find(delim, prefix.size());
    if (pos == std::string::npos) {
      out.push_back({n, false});
    } else {
      std::string p = n.substr(0, pos + delim.size());
      if (out.empty() || !(out.back() == Item{p, true})) out.push_back({p, true});
    }
  }
  return out;
}

// The names an HNS account lists for these blobs: the blobs and every
// directory on their paths, sorted.
std::vector<std::string> WithDirs(const std::vector<std::string>& names) {
  std::set<std::string> out(names.begin(), names.end());
  for (const auto& n : names)
    for (size_t p = n.find('/'); p != std::string::npos; p = n.find('/', p + 1))
      out.insert(n.substr(0, p));
  return {out.begin(), out.end()};
}

// Random names over an alphabet that sorts around '/' ('-' and '.' below
// it, digits and letters above), never a name that is also a directory.
std::vector<std::string> RandomNames(std::mt19937& rng, int want) {
  const std::string alphabet = "ab-.0z";
  auto segment = [&] {
    while (true) {
      std::string s;
      int len = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
      if (s != "." && s != "..") return s;
    }
  };
  std::set<std::string> files, dirs;
  for (const char* fixed : {"a", "a-b", "a0", "a.b", "b/c", "b/c-d", "b-c", "z/z/z"}) {
    files.insert(fixed);
    std::string n = fixed;
    for (size_t p = n.find('/'); p != std::string::npos; p = n.find('/', p + 1))
      dirs.insert(n.substr(0, p));
  }
  int tries = 0;
  while (static_cast<int>(files.size()) < want && ++tries < want * 50) {
    int depth = 1 + static_cast<int>(rng() % 4);
    std::string n;
    std::vector<std::string> parents;
    for (int d = 0; d < depth; ++d) {
      if (d) {
        parents.push_back(n);
        n += '/';
      }
      n += segment();
    }
    if (files.count(n) || dirs.count(n)) continue;
    bool clash = false;
    for (const auto& p : parents) clash = clash || files.count(p);
    if (clash) continue;
    files.insert(n);
    for (const auto& p : parents) dirs.insert(p);
  }
  return {files.begin(), files.end()};
}

class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<Store>(PosixFs(), dir_.path(), false);
    ASSERT_TRUE(store_->Open().ok());
    ASSERT_TRUE(store_->CreateContainer("list", ContainerRecord()).ok());
  }

  // Half the blobs through Commit (with a record), half written as plain
  // files; each file's content is its name.
  void Populate(const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& n = names[i];
      std::string tmp = store_->NewTempPath();
      auto f = PosixFs()->OpenWrite(tmp, true, true);
      ASSERT_TRUE(f.ok());
      ASSERT_TRUE((*f)->PWrite(n.data(), n.size(), 0).ok());
      f->reset();
      if (i % 2) {
        BlobRecord rec;
        rec.etag = NewEtag();
        rec.content_md5 = Md5(n);
        ASSERT_TRUE(store_->Commit("list", n, tmp, rec, false).ok()) << n;
      } else {
        size_t slash = n.rfind('/');
        if (slash != std::string::npos) {
          ASSERT_TRUE(PosixFs()->MkdirAll(dir_.path() + "/list/" + n.substr(0, slash)).ok());
        }
        ASSERT_TRUE(PosixFs()->Rename(tmp, dir_.path() + "/list/" + n).ok()) << n;
      }
    }
  }

  // Every page of a listing, checked page by page; the items in order.
  std::vector<Item> ListAll(const std::string& prefix, const std::string& delim, size_t max,
                            const std::string& first_marker = "") {
    std::vector<Item> all;
    std::string marker = first_marker;
    for (int pages = 0; pages < 100000; ++pages) {
      auto page = store_->List("list", prefix, delim, marker, max);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return all;
      EXPECT_LE(page->items.size(), max);
      if (!page->next_marker.empty()) {
        EXPECT_EQ(page->items.size(), max) << "a short page that is not the last";
        EXPECT_GT(page->next_marker, marker) << "the marker must move forward";
      }
      for (const auto& it : page->items) {
        all.push_back({it.name, it.is_prefix});
        if (!it.is_prefix) {
          EXPECT_EQ(it.info.name, it.name);
          // A file holds its name; a directory lists as zero-length.
          EXPECT_EQ(it.info.st.size, it.is_dir ? 0 : it.name.size()) << it.name;
          EXPECT_EQ(it.is_dir, store_->HeadPath("list", it.name)->is_dir) << it.name;
          EXPECT_FALSE(it.info.rec.etag.empty());
        }
      }
      if (page->next_marker.empty()) return all;
      marker = page->next_marker;
    }
    ADD_FAILURE() << "listing did not end";
    return all;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ListingTest, EmptyContainerAndMissingContainer) {
  auto page = store_->List("list", "", "/", "", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_TRUE(page->next_marker.empty());
  EXPECT_EQ(store_->List("nope", "", "", "", 10).status().kind(), ErrorKind::kContainerNotFound);
}

TEST_F(ListingTest, SmallTreeByHand) {
  Populate({"a", "a-b", "a.b", "a0", "b/c", "b/c-d", "b-c", "bb/x/y"});
  using V = std::vector<Item>;
  // Directories are items of their own (HNS): "b" sorts by its name, its
  // entries as "b/...".
  EXPECT_EQ(ListAll("", "", 1000), (V{{"a", false},
                                      {"a-b", false},
                                      {"a.b", false},
                                      {"a0", false},
                                      {"b", false},
                                      {"b-c", false},
                                      {"b/c", false},
                                      {"b/c-d", false},
                                      {"bb", false},
                                      {"bb/x", false},
                                      {"bb/x/y", false}}));
  EXPECT_EQ(ListAll("", "/", 1000), (V{{"a", false},
                                       {"a-b", false},
                                       {"a.b", false},
                                       {"a0", false},
                                       {"b", false},
                                       {"b-c", false},
                                       {"b/", true},
                                       {"bb", false},
                                       {"bb/", true}}));
  EXPECT_EQ(ListAll("", "-", 1000), (V{{"a", false},
                                       {"a-", true},
                                       {"a.b", false},
                                       {"a0", false},
                                       {"b", false},
                                       {"b-", true},
                                       {"b/c", false},
                                       {"b/c-", true},
                                       {"bb", false},
                                       {"bb/x", false},
                                       {"bb/x/y", false}}));
  EXPECT_EQ(ListAll("b/", "/", 1000), (V{{"b/c", false}, {"b/c-d", false}}));
  EXPECT_EQ(ListAll("b", "/", 2),
            (V{{"b", false}, {"b-c", false}, {"b/", true}, {"bb", false}, {"bb/", true}}));
  EXPECT_EQ(ListAll("bb/x", "/", 1), (V{{"bb/x", false}, {"bb/x/", true}}));
  EXPECT_EQ(ListAll("bb/x/", "/", 1), (V{{"bb/x/y", false}}));
  EXPECT_EQ(ListAll("c", "", 5), V{});
}

// A prefix naming directories starts the walk at that directory: it must
// refuse what the walk from the top never enters (symlinks, "..", files).
TEST_F(ListingTest, PrefixDirectoryIsEnteredOnlyWhenTheWalkWouldEnterIt) {
  Populate({"a/b/c", "a/b/d", "f"});
  ASSERT_TRUE(PosixFs()->MkdirAll(dir_.path() + "/outside/x").ok());
  {
    auto f = PosixFs()->OpenWrite(dir_.path() + "/outside/x/secret", true, true);
    ASSERT_TRUE(f.ok());
  }
  ASSERT_EQ(::symlink((dir_.path() + "/outside").c_str(), (dir_.path() + "/list/ln").c_str()), 0);
  ASSERT_EQ(::symlink((dir_.path() + "/list/a").c_str(), (dir_.path() + "/list/a/up").c_str()), 0);
  using V = std::vector<Item>;
  EXPECT_EQ(ListAll("a/b/", "", 10), (V{{"a/b/c", false}, {"a/b/d", false}}));
  EXPECT_EQ(ListAll("a/b/", "/", 1), (V{{"a/b/c", false}, {"a/b/d", false}}));
  EXPECT_EQ(ListAll("ln/", "", 10), V{});
  EXPECT_EQ(ListAll("ln/x/", "", 10), V{});
  EXPECT_EQ(ListAll("a/up/b/", "", 10), V{});
  EXPECT_EQ(ListAll("../outside/x/", "", 10), V{});
  EXPECT_EQ(ListAll("a/../ln/x/", "", 10), V{});
  EXPECT_EQ(ListAll("./a/b/", "", 10), V{});
  EXPECT_EQ(ListAll("a//b/", "", 10), V{});
  EXPECT_EQ(ListAll("f/", "", 10), V{});
  EXPECT_EQ(ListAll("missing/x/", "/", 10), V{});
}

class ListingModelTest : public ListingTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(ListingModelTest, PagesMatchModel) {
  const unsigned seed = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<std::string> names = RandomNames(rng, 300);
  ASSERT_GT(names.size(), 200u);
  Populate(names);

  // Prefixes: none, pieces of real names (ending anywhere, on '/' and '-'
  // too), and some that match nothing.
  std::vector<std::string> prefixes = {"",  "a", "a/", "a-", "b",         "-",
                                       ".", "0", "z/", "zz", "a/b/c/d/e", "~"};
  for (int i = 0; i < 30; ++i) {
    const std::string& n = names[rng() % names.size()];
    prefixes.push_back(n.substr(0, 1 + rng() % n.size()));
  }
  for (const auto& n : names) {
    if (n.find('/') != std::string::npos && prefixes.size() < 50)
      prefixes.push_back(n.substr(0, n.find('/') + 1));
  }

  int listings = 0;
  for (const auto& prefix : prefixes) {
    for (const std::string delim : {"", "/", "-", "b/"}) {
      std::vector<Item> want = Model(WithDirs(names), prefix, delim);
      for (size_t max : {1, 2, 3, 7, 1000}) {
        if (max == 1 && want.size() > 60 && (listings % 3)) continue;  // keep it quick
        std::vector<Item> got = ListAll(prefix, delim, max);
        ASSERT_EQ(got, want) << "prefix '" << prefix << "' delimiter '" << delim << "' maxresults "
                             << max;
        ++listings;
      }
    }
  }
  EXPECT_GT(listings, 500);
}

TEST_P(ListingModelTest, AnyMarkerStartsAtTheNextName) {
  std::mt19937 rng(GetParam() + 1000);
  std::vector<std::string> names = RandomNames(rng, 150);
  Populate(names);
  std::vector<std::string> markers = {"", "-", "a", "a/", "a/zzz", "b", "zzzz", "~"};
  for (int i = 0; i < 40; ++i) {
    std::string m = names[rng() % names.size()];
    if (rng() % 2) m += (rng() % 2) ? "0" : "/";
    markers.push_back(m);
  }
  for (const auto& m : markers) {
    for (const std::string delim : {"", "-", "/"}) {
      ASSERT_EQ(ListAll("", delim, 5, m), Model(WithDirs(names), "", delim, m))
          << "marker '" << m << "' delimiter '" << delim << "'";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ListingModelTest, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace strata::ns
