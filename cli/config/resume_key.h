// The resume key of a search: the effective config minus the keys that may change on resume.
#pragma once

#include <string>
#include <vector>

#include "cli/config/run_config.h"

namespace triseg::cli {

/// The config paths ("section.key", or "section" for a whole section) a resumed search may
/// change, because they do not change its trajectory:
///   search.episodes, search.max_evaluations, search.max_macs,
///   search.max_seconds                                            the budget
///   approx.max_acc_drop                                           selection of result.json only
///   runtime.threads, runtime.device                               same results at any count
///   train, qat                                                    made the model; its SHA-256
///                                                                 is part of the key
/// Everything else is part of the key, of the method sections only the active method's
/// (search.method): resume_key() leaves the others out.
const std::vector<std::string>& resume_exempt_keys();

/// `yaml` (a mapping of sections, as to_yaml writes it) re-emitted without the paths in
/// `exempt`; absent paths are ignored.
/// @throws ConfigError when `yaml` is not such a mapping.
std::string remove_config_keys(const std::string& yaml, const std::vector<std::string>& exempt);

/// How the resume key's lines about dataset files begin.
constexpr const char* kDataFileLine = "# dataset file sha256: ";

/// The text a search trajectory depends on: to_yaml(config) without resume_exempt_keys() and
/// without the sections of the methods other than search.method, then "# integer model file sha256:
/// <model_sha256>", then one kDataFileLine per dataset file ("<file name> <sha256>",
/// io::source_lines). The model and the data enter by content, not path: another spelling of the
/// path or a copy of the run folder resumes, another model or changed data does not.
std::string resume_key(const RunConfig& config,
                       const std::string& model_sha256,
                       const std::vector<std::string>& data_files = {});

} // namespace triseg::cli
