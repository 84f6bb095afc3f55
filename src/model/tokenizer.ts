import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../errors.js';
import { readSideJsonObject } from '../formats/json-side-file.js';
import { pickTemplate, tokenText } from '../formats/chat-template.js';

export interface TokenizerInfo {
  /** One past the largest id the tokenizer can emit (base vocabulary and added tokens). */
  vocabSize: number;
  bosToken: string | undefined;
  eosToken: string | undefined;
  padToken: string | undefined;
  bosId: number | undefined;
  eosId: number | undefined;
  padId: number | undefined;
  chatTemplate: string | undefined;
}

export class TextTokenizer {
  readonly info: TokenizerInfo;
  readonly file: string;
  readonly config: Record<string, unknown>;
  private readonly tok: Tokenizer;

  private constructor(tok: Tokenizer, file: string, config: Record<string, unknown>) {
    this.tok = tok;
    this.file = file;
    this.config = config;
    const vocab = tok.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    const idOf = (t: string | undefined) => (t === undefined ? undefined : tok.token_to_id(t));
    const bosToken = tokenText(config.bos_token);
    const eosToken = tokenText(config.eos_token);
    const padToken = tokenText(config.pad_token);
    this.info = {
      vocabSize: maxId + 1,
      bosToken, eosToken, padToken,
      bosId: idOf(bosToken), eosId: idOf(eosToken), padId: idOf(padToken),
      chatTemplate: pickTemplate(config.chat_template),
    };
  }

  static async load(tokenizerPath: string, configPath: string | undefined): Promise<TextTokenizer> {
    const json = await readSideJsonObject(tokenizerPath, 'tokenizer');
    const config = configPath ? await readSideJsonObject(configPath, 'config') : {};
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, config);
    } catch (err) {
      throw new UserError('E_TOKENIZER', `${tokenizerPath}: unsupported or broken tokenizer (${(err as Error).message})`, tokenizerPath);
    }
    return new TextTokenizer(tok, tokenizerPath, config);
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    // The library refuses an empty list; an immediate end-of-sequence is a real, empty answer.
    if (ids.length === 0) return '';
    return this.tok.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  tokenString(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}
