// Decorators: safety refusals (nothing reaches the instrument), the command journal, the
// latency injector, and how the Microscope wrapper turns failures into status codes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/decorators.hpp"
#include "sdm_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;

namespace {

/// A stand-in instrument: 0..10 µm, current I = 1e-9 S · V · gain, counts what reaches it.
struct Counts {
  int survey = 0, move = 0, sweep = 0, status = 0, caps = 0;
};
class FakeBackend : public MicroscopeBackend {
 public:
  FakeBackend(std::shared_ptr<Counts> c, double gain = 1.0) : c_(std::move(c)), gain_(gain) {}
  SurveyImage survey(const SurveySpec& spec) override {
    ++c_->survey;
    SurveyImage s;
    s.axes = {4, 3, 0, 0, 1e-6, 1e-6};
    for (const auto& n : spec.channels) s.channels.push_back({n, "m", std::vector<double>(12, 1.0)});
    return s;
  }
  Position move_to(double x, double y) override {
    ++c_->move;
    pos_ = {x, y};
    return pos_;
  }
  core::IvCurve iv_sweep(const core::Waveform& w) override {
    ++c_->sweep;
    core::IvCurve c{w.time_s, w.bias_v, {}};
    for (double v : w.bias_v) c.current_a.push_back(1e-9 * gain_ * v);
    return c;
  }
  MicroscopeStatus status() override {
    ++c_->status;
    return {pos_, 0.0, true, "idle"};
  }
  Capabilities capabilities() override {
    ++c_->caps;
    Capabilities c;
    c.backend = "fake";
    c.x_max_m = c.y_max_m = 10e-6;
    c.max_bias_v = 20;
    c.max_current_a = 1e-3;
    c.max_sweep_rate_v_per_s = 100;
    c.channels = {"topography"};
    return c;
  }

 private:
  std::shared_ptr<Counts> c_;
  double gain_;
  Position pos_;
};

SafetyLimits limits() {
  SafetyLimits l;
  l.max_bias_v = 2.0;
  l.max_current_a = 1e-8;
  l.max_sweep_rate_v_per_s = 5.0;
  return l;
}

}  // namespace

TEST(Safety, RefusesOutOfLimitCommandsBeforeTheInstrument) {
  auto counts = std::make_shared<Counts>();
  Microscope scope(std::make_unique<SafetyDecorator>(std::make_unique<FakeBackend>(counts), limits()));

  // Within limits: forwarded.
  EXPECT_TRUE(scope.iv_sweep(core::Waveform::triangle(1.5, 251, 1.0)).ok());
  EXPECT_EQ(counts->sweep, 1);
  // Bias beyond 2 V.
  auto r = scope.iv_sweep(core::Waveform::triangle(2.5, 251, 1.0));
  EXPECT_EQ(r.status.code, StatusCode::refused);
  EXPECT_NE(r.status.message.find("max_bias_v = 2 V"), std::string::npos) << r.status.message;
  EXPECT_TRUE(r.value.current_a.empty());
  // Sweep rate beyond 5 V/s.
  r = scope.iv_sweep(core::Waveform::triangle(1.5, 251, 8.0));
  EXPECT_EQ(r.status.code, StatusCode::refused);
  EXPECT_NE(r.status.message.find("max_sweep_rate_v_per_s"), std::string::npos) << r.status.message;
  // Malformed waveform.
  core::Waveform bad{{0, 1, 1}, {0, 0.1, 0.2}};
  r = scope.iv_sweep(bad);
  EXPECT_EQ(r.status.code, StatusCode::refused);
  EXPECT_NE(r.status.message.find("invalid waveform"), std::string::npos) << r.status.message;
  EXPECT_EQ(counts->sweep, 1);  // none of the refused ones reached the instrument

  // Positions: inside, outside, not finite.
  EXPECT_TRUE(scope.move_to(5e-6, 10e-6).ok());
  auto m = scope.move_to(10.5e-6, 1e-6);
  EXPECT_EQ(m.status.code, StatusCode::refused);
  EXPECT_NE(m.status.message.find("outside the allowed scan range"), std::string::npos) << m.status.message;
  EXPECT_EQ(scope.move_to(std::nan(""), 0).status.code, StatusCode::refused);
  EXPECT_EQ(scope.move_to(-1e-9, 0).status.code, StatusCode::refused);
  EXPECT_EQ(counts->move, 1);

  // Surveys: no channels, absurd size.
  SurveySpec s;
  s.channels.clear();
  EXPECT_EQ(scope.survey(s).status.code, StatusCode::refused);
  s.channels = {"topography"};
  s.nx = 100000;
  EXPECT_EQ(scope.survey(s).status.code, StatusCode::refused);
  EXPECT_EQ(counts->survey, 0);

  // Capabilities report the tighter limits.
  auto caps = scope.capabilities();
  ASSERT_TRUE(caps.ok());
  EXPECT_DOUBLE_EQ(caps.value.max_bias_v, 2.0);
  EXPECT_DOUBLE_EQ(caps.value.max_current_a, 1e-8);
  EXPECT_DOUBLE_EQ(caps.value.max_sweep_rate_v_per_s, 5.0);
}

TEST(Safety, ExtraPositionBoxAndCurrentTrip) {
  auto counts = std::make_shared<Counts>();
  SafetyLimits l = limits();
  l.x_max_m = 2e-6;
  Microscope scope(std::make_unique<SafetyDecorator>(std::make_unique<FakeBackend>(counts, 20.0), l));
  EXPECT_TRUE(scope.move_to(2e-6, 9e-6).ok());
  EXPECT_EQ(scope.move_to(3e-6, 0).status.code, StatusCode::refused);
  // |I| = 20 nS · 1.5 V = 30 nA > 10 nA: the sweep ran, the limit tripped → tripped, curve withheld.
  auto r = scope.iv_sweep(core::Waveform::triangle(1.5, 251, 1.0));
  EXPECT_EQ(r.status.code, StatusCode::tripped);
  EXPECT_NE(r.status.message.find("current limit tripped"), std::string::npos) << r.status.message;
  EXPECT_TRUE(r.value.current_a.empty());
  // 0.4 V peak: 8 nA, fine.
  EXPECT_TRUE(scope.iv_sweep(core::Waveform::triangle(0.4, 101, 1.0)).ok());
}

TEST(Journal, RecordsEveryCommandAndReplyIncludingRefusals) {
  sdm::test::TempDir dir;
  const auto path = dir / "sub" / "journal.log";
  auto counts = std::make_shared<Counts>();
  {
    Microscope scope(std::make_unique<JournalDecorator>(std::make_unique<SafetyDecorator>(std::make_unique<FakeBackend>(counts), limits()), path));
    scope.capabilities();
    scope.move_to(1e-6, 2e-6);
    scope.iv_sweep(core::Waveform::triangle(1.5, 251, 1.0));
    scope.iv_sweep(core::Waveform::triangle(3.0, 251, 1.0));  // refused
  }
  {  // a second journal on the same file appends
    Microscope scope(std::make_unique<JournalDecorator>(std::make_unique<FakeBackend>(counts), path));
    scope.status();
  }
  std::ifstream f(path);
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 10u);
  const char* ops[] = {"capabilities", "move_to", "iv_sweep", "iv_sweep", "status"};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& c = lines[2 * i];
    const auto& rep = lines[2 * i + 1];
    EXPECT_EQ(c["dir"], "command");
    EXPECT_EQ(rep["dir"], "reply");
    EXPECT_EQ(c["op"], ops[i]);
    EXPECT_EQ(rep["op"], ops[i]);
    EXPECT_EQ(c["seq"], rep["seq"]);
    EXPECT_LE(c["t_s"].get<double>(), rep["t_s"].get<double>());
    EXPECT_EQ(c["t_utc"].get<std::string>().back(), 'Z');
  }
  EXPECT_DOUBLE_EQ(lines[2]["x_m"].get<double>(), 1e-6);
  EXPECT_EQ(lines[4]["points"], 251);
  EXPECT_DOUBLE_EQ(lines[4]["bias_v_max"].get<double>(), 1.5);
  EXPECT_EQ(lines[5]["status"], "ok");
  EXPECT_EQ(lines[5]["points"], 251);
  EXPECT_EQ(lines[7]["status"], "refused");
  EXPECT_NE(lines[7]["message"].get<std::string>().find("max_bias_v"), std::string::npos);
  EXPECT_EQ(counts->sweep, 1);
}

TEST(Journal, UnwritablePathIsASetupError) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "file", "x");
  try {
    JournalDecorator j(std::make_unique<FakeBackend>(std::make_shared<Counts>()), dir / "file" / "journal.log");
    FAIL();
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("journal"), std::string::npos) << e.what();
  }
}

TEST(Latency, DelaysEachCallAndTheWrapperTimesIt) {
  LatencyConfig lat;
  lat.sweep_s = 0.05;
  Microscope scope(std::make_unique<LatencyDecorator>(std::make_unique<FakeBackend>(std::make_shared<Counts>()), lat));
  auto r = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r.status.wall_s, 0.05);
  auto s = scope.status();
  EXPECT_LT(s.status.wall_s, 0.05);
  EXPECT_THROW(LatencyDecorator(std::make_unique<FakeBackend>(std::make_shared<Counts>()), LatencyConfig::uniform(-1)), sdm::Error);
}

TEST(Wrapper, MapsCallErrorsAndOtherExceptionsToStatusCodes) {
  struct Thrower : FakeBackend {
    using FakeBackend::FakeBackend;
    StatusCode code = StatusCode::timeout;
    Position move_to(double, double) override { throw CallError(code, "boom"); }
    MicroscopeStatus status() override { throw std::runtime_error("plain failure"); }
    Capabilities capabilities() override { throw 42; }
  };
  auto t = std::make_unique<Thrower>(std::make_shared<Counts>());
  Thrower* raw = t.get();
  Microscope scope(std::move(t));
  for (StatusCode c : {StatusCode::timeout, StatusCode::refused, StatusCode::disconnected, StatusCode::error}) {
    raw->code = c;
    auto r = scope.move_to(0, 0);
    EXPECT_EQ(r.status.code, c);
    EXPECT_EQ(r.status.message, "boom");
    EXPECT_FALSE(r.ok());
  }
  EXPECT_EQ(scope.status().status.code, StatusCode::error);
  EXPECT_EQ(scope.status().status.message, "plain failure");
  EXPECT_EQ(scope.capabilities().status.code, StatusCode::error);
  for (StatusCode c : {StatusCode::ok, StatusCode::timeout, StatusCode::refused, StatusCode::disconnected, StatusCode::error})
    EXPECT_EQ(status_code_from_string(to_string(c)), c);
  EXPECT_THROW(status_code_from_string("fine"), sdm::Error);
}

TEST(WrapBackend, StacksJournalSafetyLatencyAndSurveyFile) {
  sdm::test::TempDir dir;
  BackendConfig c;
  c.max_bias_v = 1.0;
  c.latency_s = 0.01;
  c.survey_path = (std::filesystem::path(SDM_SHARED_DATA_DIR) / "scan_0001.ibw").string();
  c.journal = "j.log";
  auto counts = std::make_shared<Counts>();
  Microscope scope(wrap_backend(std::make_unique<FakeBackend>(counts), c, {dir.path(), true}));
  auto iv = scope.iv_sweep(core::Waveform::triangle(1.5));
  EXPECT_EQ(iv.status.code, StatusCode::refused);
  auto s = scope.survey(SurveySpec{});
  ASSERT_TRUE(s.ok()) << s.status.message;
  EXPECT_EQ(s.value.axes.nx, 256);  // from the .ibw, not the fake instrument
  EXPECT_EQ(counts->survey, 0);
  EXPECT_GE(s.status.wall_s, 0.01);
  EXPECT_TRUE(std::filesystem::exists(dir / "j.log"));
  EXPECT_EQ(journal_path(c, dir.path()), dir / "j.log");
  c.journal = "off";
  EXPECT_TRUE(journal_path(c, dir.path()).empty());
  c.journal = "";
  EXPECT_EQ(journal_path(c, dir.path()), dir / "journal.log");
  EXPECT_TRUE(journal_path(c, "").empty());
}
